"""HTML of the pages a person sees: login, organisation choice, device code, settings, errors.

Plain server-rendered HTML with inline CSS and no JavaScript. Element ids are a stable contract
(docs/protocol.md) because the SDK's browser-login tests drive these pages with a real browser.
Every interpolated value goes through :func:`esc`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from starlette.responses import HTMLResponse

__all__ = [
    "error_block",
    "error_page",
    "esc",
    "hidden_fields",
    "html_response",
    "login_fields",
    "message_page",
    "organisation_select",
    "page",
]

_CSS = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2430;margin:0}
main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,select{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem;cursor:pointer}
.error{background:#fdecea;color:#8a1c12;padding:.6rem;border-radius:4px}
.notice{background:#eef4fd;padding:.6rem;border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{padding:.3rem;
border-bottom:1px solid #ddd;text-align:left}code{word-break:break-all}
"""

_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
}


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Jetraw</title><style>{_CSS}</style></head>"
        f"<body><main><h1>{esc(title)}</h1>\n{body}\n</main></body></html>\n"
    )


def html_response(
    html: str, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    return HTMLResponse(html, status_code=status_code, headers={**_HEADERS, **(headers or {})})


def error_page(title: str, detail: str, status_code: int = 400) -> HTMLResponse:
    body = f'<p class="error" id="error">{esc(detail)}</p>'
    return html_response(page(title, body), status_code)


def message_page(title: str, detail: str, *, element_id: str = "message") -> HTMLResponse:
    return html_response(page(title, f'<p class="notice" id="{esc(element_id)}">{esc(detail)}</p>'))


def hidden_fields(fields: Mapping[str, str | None]) -> str:
    return "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
        for k, v in fields.items()
        if v is not None
    )


def login_fields(email: str = "") -> str:
    return (
        '<label for="email">Email</label>'
        f'<input type="email" name="email" id="email" value="{esc(email)}" '
        'autocomplete="username" required autofocus>'
        '<label for="password">Password</label>'
        '<input type="password" name="password" id="password" '
        'autocomplete="current-password" required>'
    )


def organisation_select(organisations: Iterable[Mapping[str, Any]], selected: str | None) -> str:
    options = "".join(
        f'<option value="{esc(o["name"])}"{" selected" if o["name"] == selected else ""}>'
        f"{esc(o['name'])}</option>"
        for o in organisations
    )
    return (
        '<label for="organisation">Organisation</label>'
        f'<select name="organisation" id="organisation">{options}</select>'
    )


def error_block(error: str | None) -> str:
    return f'<p class="error" id="error">{esc(error)}</p>' if error else ""
