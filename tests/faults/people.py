"""A person approving a device login through the platform's real HTML form (plain HTTP)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import httpx

__all__ = ["approve_device"]


class _Forms(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._form: dict[str, Any] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": {}}
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._form
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form["fields"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def approve_device(http: httpx.Client, url: str, email: str, password: str) -> None:
    """Open the verification URL (code filled in), log in and approve."""
    page = http.get(url)
    page.raise_for_status()
    form = _Forms(page.text).forms["login-form"]
    answer = http.post(
        page.url.join(form["action"]),
        data={**form["fields"], "email": email, "password": password, "action": "approve"},
    )
    assert 'id="approved"' in answer.text, answer.text[:500]
