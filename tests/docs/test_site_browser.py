"""The built documentation site in headless Chromium: every page loads without console errors,
every internal link and anchor resolves, nothing is fetched from the internet, and the search finds
"API key". Screenshots of the home page and of the API reference go to docs/_build/ (CI artefacts).

The site is built here (``mkdocs build --strict`` into a temporary dir, ~5 s), so the test does not
depend on the order of the nox sessions; it is served on 127.0.0.1 because the search runs in a web
worker, which Chromium refuses on file:// pages.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from tests.conftest import require_system

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = ROOT / "docs" / "_build"


class _Ids(html.parser.HTMLParser):
    """The ids of a page and the URLs it loads (scripts, styles, images)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.loads.append(str(a["src"]))
        if tag == "link" and a.get("href") and a.get("rel") not in ("canonical",):
            self.loads.append(str(a["href"]))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _parse(page: Path) -> _Ids:
    parser = _Ids()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    out = Path(tempfile.mkdtemp(prefix="jetraw-site-"))
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield out
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    have = shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None
    require_system("chromium and chromedriver", have)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="jetraw-chromium-docs-")
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
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# The site build (setup, ~20 s) and ~40 pages in Chromium (~100 s on a loaded 2-core machine)
# exceed the suite's default 120 s.
@pytest.mark.timeout(300)
def test_site_offline_pages_links_and_console(site: Path, served: str, driver: Any) -> None:
    pages = _pages(site)
    assert len(pages) >= 25, pages
    broken: list[str] = []
    errors: list[str] = []
    parsed: dict[Path, _Ids] = {}
    for page in pages:
        rel = page.relative_to(site).as_posix()
        info = parsed[page] if page in parsed else parsed.setdefault(page, _parse(page))
        external = [
            u
            for u in info.loads
            if urlsplit(u).scheme in ("http", "https", "") and urlsplit(u).netloc
        ]
        assert not external, f"{rel} loads from the internet: {external}"
        driver.get(f"{served}/{rel}")
        assert driver.title, rel
        hrefs = driver.execute_script(
            "return Array.from(document.querySelectorAll('a[href]'), a => a.href)"
        )
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                errors.append(f"{rel}: {entry['message']}")
        for href in hrefs:
            url, fragment = urldefrag(href)
            if not url.startswith(served):
                continue  # an external link (not loaded by the page)
            path = unquote(urlsplit(url).path).lstrip("/")
            target = site / path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{rel} -> {href}")
                continue
            if fragment and target.suffix == ".html":
                if target not in parsed:  # parse each page once (setdefault would parse it again)
                    parsed[target] = _parse(target)
                ids = parsed[target].ids
                if unquote(fragment) not in ids:
                    broken.append(f"{rel} -> {href} (no anchor)")
    assert not broken, "\n".join(broken)
    assert not errors, "\n".join(errors)


def test_search_finds_api_key_and_screenshots(served: str, driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.get(f"{served}/index.html")
    assert driver.save_screenshot(str(SHOTS / "home.png"))
    box = WebDriverWait(driver, 15).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input"))
    )
    box.click()
    box.send_keys("API key")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    )
    results = driver.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    text = " ".join(r.text for r in results).lower()
    assert "api key" in text, text[:500]
    driver.get(f"{served}/reference/api.html")
    assert "Client" in driver.find_element(By.TAG_NAME, "article").text
    assert driver.save_screenshot(str(SHOTS / "api-reference.png"))
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
