"""What a newcomer to the SDK trips over (issue 13, item 6): pathlib-style ``stat()``, a space
that does not exist naming the ones that do, and a browser login on a machine with no browser.
"""

from __future__ import annotations

import datetime
import stat
import time

import pytest

import jetraw_sync
from jetraw.aio import (
    AsyncClient,
    AsyncJetrawPath,
    LoginError,
    RemoteDirectory,
    SpaceNotFoundError,
)
from jetraw.testing import LocalPlatform

pytestmark = pytest.mark.anyio


async def test_stat_has_os_stat_result_names_and_datetimes(
    jetraw_platform: LocalPlatform,
) -> None:
    platform = jetraw_platform
    before = time.time()
    async with AsyncClient(server=platform.url, refresh_token=platform.api_key) as c:
        p = AsyncJetrawPath(f"/{platform.space}/friction/stat.bin", client=c)
        await p.write_bytes(b"x" * 1234)
        st = await p.stat()
        folder = await p.parent.stat()
    after = time.time()
    assert st.size == st.st_size == 1234  # the README's `.size` stays
    assert stat.S_ISREG(st.st_mode)
    assert not stat.S_ISDIR(st.st_mode)
    assert isinstance(st.modified, datetime.datetime)
    assert st.modified.utcoffset() == datetime.timedelta(0)
    assert isinstance(st.created, datetime.datetime)
    # The server records whole seconds: the times fall within the write, give or take one.
    for t in (st.st_mtime, st.st_ctime, st.st_birthtime):
        assert isinstance(t, float)
        assert before - 1 <= t <= after + 1
    assert st.st_mtime == st.modified.timestamp()
    assert isinstance(st.created_at, str)  # the protocol's string stays (CLI --json prints it)
    assert isinstance(folder, RemoteDirectory)
    assert stat.S_ISDIR(folder.st_mode)
    assert folder.st_size == 0
    assert folder.modified is None
    assert folder.st_mtime == 0.0


def test_sync_stat_has_the_same_names(jetraw_platform: LocalPlatform) -> None:
    platform = jetraw_platform
    with jetraw_sync.Client(server=platform.url, refresh_token=platform.api_key) as c:
        p = jetraw_sync.JetrawPath(f"/{platform.space}/friction/sync-stat.txt", client=c)
        p.write_text("hello")
        st = p.stat()
    assert st.st_size == 5
    assert stat.S_ISREG(st.st_mode)
    assert st.modified is not None
    assert st.modified.tzinfo is not None


async def test_missing_space_names_the_spaces_that_exist(jetraw_platform: LocalPlatform) -> None:
    platform = jetraw_platform
    async with AsyncClient(server=platform.url, refresh_token=platform.api_key) as c:
        names = sorted(s.name for s in await c.list_spaces())
        with pytest.raises(SpaceNotFoundError) as caught:
            await AsyncJetrawPath("/raw-data/a.txt", client=c).write_bytes(b"x")
        with pytest.raises(SpaceNotFoundError) as by_stat:
            await c.stat("/raw-data/a.txt")
    expected = (
        f"No space 'raw-data' in organisation {platform.organisation!r}; "
        f"spaces: {', '.join(names)}."
    )
    assert platform.space in names
    assert str(caught.value).startswith(expected), str(caught.value)
    assert str(by_stat.value).startswith(expected), str(by_stat.value)
    assert caught.value.code == "space_not_found"


def _no_browser(monkeypatch: pytest.MonkeyPatch, tmp_path_str: str, how: str) -> None:
    import webbrowser

    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if how == "nonexistent BROWSER":
        monkeypatch.setenv("BROWSER", f"{tmp_path_str}/no-such-browser")
    else:  # no DISPLAY, and no console browser on the PATH either
        monkeypatch.delenv("BROWSER", raising=False)
        monkeypatch.setenv("PATH", tmp_path_str)


@pytest.mark.parametrize("how", ["nonexistent BROWSER", "no DISPLAY"])
async def test_browser_login_without_a_browser_fails_at_once(
    jetraw_platform: LocalPlatform,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pytest.TempPathFactory,
    how: str,
) -> None:
    _no_browser(monkeypatch, str(tmp_path), how)
    messages: list[str] = []
    started = time.monotonic()
    async with AsyncClient(server=jetraw_platform.url, refresh_token_if_empty=False) as c:
        with pytest.raises(LoginError) as caught:
            await c.authorize(notify=messages.append, login_timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"waited {elapsed:.1f}s"
    text = str(caught.value)
    assert text.startswith("No web browser found on this machine"), text
    assert "authorize(device=True)" in text
    assert "jetraw login --device" in text
    assert caught.value.code == "browser_not_found"
