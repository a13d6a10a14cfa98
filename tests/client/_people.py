"""A person at a browser, for the login flows: headless Chromium (Selenium), or a plain HTTP
form filler that submits the same real forms (fast, for tests whose subject is not the browser).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def unique_email(name: str) -> str:
    """An address no other test on the shared platform uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


def have_chromium() -> bool:
    return shutil.which("chromium") is not None and shutil.which("chromedriver") is not None


class _Forms(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": {}}
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._form
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and self._form is not None:
            self._select = a.get("name", "")
        elif (
            tag == "option"
            and self._form is not None
            and self._select
            and ("selected" in a or self._select not in self._form["fields"])
        ):
            self._form["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _submit(http: httpx.Client, page: httpx.Response, values: dict[str, str]) -> httpx.Response:
    form = _Forms(page.text).forms["login-form"]
    target = page.url.join(form["action"])
    return http.post(target, data={**form["fields"], **values})


def form_opener(
    email: str, password: str, organisation: str | None = None, *, action: str = "login"
) -> Callable[[str], bool]:
    """An opener that logs in through the real HTML forms over HTTP, as a browser would."""

    def open_url(url: str) -> bool:
        with httpx.Client(trust_env=False, follow_redirects=False, timeout=30) as http:
            page = http.get(url)
            page.raise_for_status()
            values = {"email": email, "password": password, "action": action}
            if organisation:
                values["organisation"] = organisation
            answer = _submit(http, page, values)
            if answer.status_code == 200 and 'id="organisation"' in answer.text:
                answer = _submit(
                    http, answer, {"organisation": organisation or "", "action": action}
                )
            if answer.is_redirect:
                # The loopback callback of the SDK.
                http.get(answer.headers["location"])
            else:
                answer.raise_for_status()
        return True

    return open_url


def chromium_opener(
    email: str,
    password: str,
    organisation: str | None = None,
    *,
    log: list[str] | None = None,
    finished: threading.Event | None = None,
) -> Callable[[str], bool]:
    """An opener that drives headless Chromium through the real login form.

    The SDK stops waiting for the opener once its callback arrives; ``finished`` is set when the
    browser has shown the answer page and quit.
    """

    def open_url(url: str) -> bool:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.select import Select
        from selenium.webdriver.support.ui import WebDriverWait

        profile_dir = tempfile.mkdtemp(prefix="jetraw-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-quic",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile_dir}",
        ):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        try:
            wait = WebDriverWait(driver, 30)
            driver.get(url)
            wait.until(ec.presence_of_element_located((By.ID, "login-form")))
            driver.find_element(By.ID, "email").send_keys(email)
            driver.find_element(By.ID, "password").send_keys(password)
            driver.find_element(By.ID, "submit").click()
            wait.until(
                lambda d: "/callback" in d.current_url or d.find_elements(By.ID, "organisation")
            )
            if "/callback" not in driver.current_url:
                if organisation:
                    Select(driver.find_element(By.ID, "organisation")).select_by_value(organisation)
                driver.find_element(By.ID, "submit").click()
                wait.until(lambda d: "/callback" in d.current_url)
            wait.until(lambda d: "logged in" in d.page_source.lower())
            if log is not None:
                log.append(driver.current_url.split("?")[0])
                log.append(driver.title)
        finally:
            driver.quit()
            shutil.rmtree(profile_dir, ignore_errors=True)
            if finished is not None:
                finished.set()
        return True

    return open_url
