"""Remote strings never reach the terminal raw: control characters are shown escaped.

The server will soon refuse control characters in new writes, so the hostile data comes from a
fake platform at the SDK's edge (the `AsyncClient` methods the commands call answer with
hostile paths, names, metadata and error messages), not from the real server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from jetraw.aio import AsyncClient, RemoteDirectory, RemoteFile, RemotePathNotFoundError, Space
from jetraw.cli import cli
from jetraw.cli._common import printable

# A screen clear, fake text, a window title (OSC 0), a clipboard write (OSC 52), a C1 CSI, a
# bell, DEL, a lone surrogate, a bidi override and a newline that would fake a line of output.
HOSTILE = (
    "a\x1b[2J\x1b[Hfake\x1b]0;title\x07\x1b]52;c;ZWNobyBwd25lZA==\x07"
    "\u009b31m\x7f\ud800\u202ecba\nError: forged"
)
RAW = ("\x1b", "\x07", "\x7f", "\u009b", "\ud800", "\u202e")


def _assert_safe(text: str) -> None:
    for char in RAW:
        assert char not in text, repr(text)
    assert "\nError: forged" not in text, repr(text)


def test_printable_escapes_controls_visibly() -> None:
    assert printable("\x1b[2J") == "\\x1b[2J"
    assert printable("\u009b") == "\\u009b"
    assert printable("\ud800") == "\\ud800"
    assert printable("\t\n\r\x00\x7f") == "\\x09\\x0a\\x0d\\x00\\x7f"
    assert printable("\u202e") == "\\u202e"
    # Everything else, non-ASCII text included, is left alone; escaping is idempotent.
    assert printable("Zürich ß 日本 \\x1b") == "Zürich ß 日本 \\x1b"
    assert printable(printable(HOSTILE)) == printable(HOSTILE)


@pytest.fixture
def hostile(jetraw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real platform logs the client in; the listing calls answer hostile data.
    file = RemoteFile(
        space="lab",
        path=f"raw/{HOSTILE}.tif",
        size=3,
        crc32c=1,
        metadata={HOSTILE: HOSTILE, "ok": "plain"},
        object_key="k",
        created_at=HOSTILE,
        modified_at="2026-01-01T00:00:00Z",
        sha256=HOSTILE,
    )

    async def stat(self: Any, path: Any) -> Any:
        if "missing" in str(path):
            raise RemotePathNotFoundError(f"no such file: {HOSTILE}")
        return file if str(path).endswith(".tif") else RemoteDirectory("lab", "raw")

    async def list_files(self: Any, path: Any, recursive: bool = False) -> AsyncIterator[Any]:
        yield file
        yield RemoteDirectory("lab", f"raw/{HOSTILE}")

    async def list_spaces(self: Any) -> list[Any]:
        return [
            Space(id="s", name=f"lab{HOSTILE}", organisation=None, storage={"type": HOSTILE})  # type: ignore[arg-type]
        ]

    async def get_space(self: Any, name: str) -> Any:
        return (await list_spaces(self))[0]

    monkeypatch.setattr(AsyncClient, "stat", stat)
    monkeypatch.setattr(AsyncClient, "list_files", list_files)
    monkeypatch.setattr(AsyncClient, "list_spaces", list_spaces)
    monkeypatch.setattr(AsyncClient, "get_space", get_space)


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize(
    "args",
    [
        ("stat", "/lab/raw/x.tif"),
        ("ls", "/lab/raw"),
        ("ls", "-l", "/lab/raw"),
        ("ls", "-l", "-R", "/lab/raw"),
        ("ls",),
        ("spaces",),
    ],
)
def test_human_output_escapes_remote_strings(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    _assert_safe(result.stdout)
    assert "\\x1b[2J" in result.stdout  # shown, visibly, not dropped


@pytest.mark.usefixtures("hostile")
def test_stat_shows_hostile_metadata_escaped() -> None:
    out = _run("stat", "/lab/raw/x.tif").stdout
    assert "Metadata:  ok=plain" in out
    assert "\\x1b]52;c;" in out  # the clipboard write is visible as text
    assert "\\u009b31m" in out


@pytest.mark.usefixtures("hostile")
def test_error_quoting_server_text_is_escaped() -> None:
    result = _run("stat", "/lab/raw/missing.tif")
    assert result.exit_code == 4
    _assert_safe(result.stderr)
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize("args", [("stat", "--json", "/lab/raw/x.tif"), ("ls", "--json", "/lab")])
def test_json_output_is_escaped_and_valid(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.isascii()  # ensure_ascii: C1, surrogates, bidi as \\uXXXX
    for char in (*RAW, "\x00"):
        assert char not in result.stdout
    data = json.loads(result.stdout)  # still valid JSON, and the values round-trip exactly
    entries = data if isinstance(data, list) else [data]
    assert any(HOSTILE in entry["path"] for entry in entries), data
