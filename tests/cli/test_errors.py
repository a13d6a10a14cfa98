"""Every failure of the file commands is one line on stderr with a meaningful exit code."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .conftest import Jetraw, one_error_line


@pytest.fixture
def files(jetraw: Jetraw, tmp_path: Path) -> Path:
    """A local file and directory, and the same file already uploaded."""
    (tmp_path / "f.txt").write_bytes(b"data")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "g.txt").write_bytes(b"more")
    up = jetraw("upload", "-r", str(tmp_path / "f.txt"), str(tmp_path / "dir"), f"/{jetraw.space}/")
    assert up.exit_code == 0, up.stderr
    return tmp_path


CASES = [
    # (name, argv with {s}=space and {t}=tmp dir, exit code, words in the message)
    ("unknown space ls", ["ls", "/no-such-space/x"], 4, "no-such-space"),
    ("unknown space upload", ["upload", "{t}/f.txt", "/no-such-space/x"], 4, "no-such-space"),
    ("unknown space download", ["download", "/no-such-space/x", "{t}/o"], 4, "no-such-space"),
    ("missing remote file", ["stat", "/{s}/nothing.txt"], 4, "nothing.txt"),
    ("unknown space stat", ["stat", "/no-such-space"], 4, "no-such-space"),
    ("unknown space root ls", ["ls", "/no-such-space/"], 4, "no-such-space"),
    ("missing remote download", ["download", "/{s}/nothing.txt", "{t}/o"], 4, "nothing.txt"),
    ("missing local file", ["upload", "{t}/missing.bin", "/{s}/x"], 4, "missing.bin"),
    ("upload dir without -r", ["upload", "{t}/dir", "/{s}/y/"], 2, "-r"),
    ("download dir without -r", ["download", "/{s}/dir", "{t}/o"], 2, "-r"),
    ("rm dir without -r", ["rm", "/{s}/dir"], 2, "-r"),
    ("rm space root", ["rm", "-r", "/{s}"], 2, "root"),
    ("upload exists", ["upload", "{t}/f.txt", "/{s}/f.txt"], 5, "exists"),
    ("download exists", ["download", "/{s}/f.txt", "{t}/f.txt"], 5, "exists"),
    ("mv exists", ["mv", "/{s}/f.txt", "/{s}/dir/g.txt"], 5, "exists"),
    ("mv missing", ["mv", "/{s}/nope", "/{s}/nope2"], 4, "nope"),
    ("mkdir exists", ["mkdir", "/{s}/dir"], 5, "exists"),
    ("mkdir over a file", ["mkdir", "/{s}/f.txt"], 5, "f.txt"),
    ("cat directory", ["cat", "/{s}/dir"], 2, "directory"),
    ("relative remote path", ["ls", "{s}/dir"], 2, "/space/"),
    ("escaping remote path", ["stat", "/{s}/a/../../etc"], 2, ".."),
    ("part size below 5 MiB", ["upload", "--part-size", "1M", "{t}/f.txt", "/{s}/z"], 2, "5 MiB"),
    ("unknown upload id", ["uploads", "abort", "no-such-upload"], 4, "no-such-upload"),
]


@pytest.mark.parametrize(
    ("argv", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_is_one_line_with_exit_code(
    jetraw: Jetraw, files: Path, argv: list[str], code: int, words: str
) -> None:
    args = [a.format(s=jetraw.space, t=files) for a in argv]
    result = jetraw(*args)
    line = one_error_line(result.stderr)
    assert result.exit_code == code, line
    assert words in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["upload", "--part-size", "3X", "a", "/s/b"],
        ["upload", "only-one-argument"],
        ["upload", "--overwrite", "--skip-existing", "a", "/s/b"],
        ["download"],
        ["uploads", "abort"],
        ["ls", "--no-such-option"],
    ],
)
def test_usage_errors_exit_2(jetraw: Jetraw, argv: list[str]) -> None:
    result = jetraw(*argv)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")


def test_local_files_untouched_on_refused_download(jetraw: Jetraw, files: Path) -> None:
    (files / "keep.txt").write_bytes(b"mine")
    jetraw("mv", f"/{jetraw.space}/f.txt", f"/{jetraw.space}/keep.txt")
    result = jetraw("download", f"/{jetraw.space}/keep.txt", str(files))
    assert result.exit_code == 5
    assert (files / "keep.txt").read_bytes() == b"mine"
    assert sorted(p.name for p in files.iterdir()) == ["dir", "f.txt", "keep.txt"]  # no temp file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bad_credentials_in_a_real_process(jetraw: Jetraw, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    for argv in (["ls", f"/{jetraw.space}"], ["upload", str(tmp_path / "f"), f"/{jetraw.space}/f"]):
        proc = jetraw.proc(*argv, env={"JETRAW_API_KEY": "jrk_not_a_real_key"})
        line = one_error_line(proc.stderr)
        assert proc.returncode == 3, line
        assert "jrk_not_a_real_key" not in proc.stderr


def test_server_down_in_a_real_process(jetraw: Jetraw, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    down = {"JETRAW_SERVER": f"http://127.0.0.1:{free_port()}"}
    for argv in (["ls"], ["upload", str(tmp_path / "f"), "/data/f"]):
        proc = jetraw.proc(*argv, env=down)
        line = one_error_line(proc.stderr)
        assert proc.returncode == 6, line
        assert "reach" in line


def test_missing_local_file_and_no_server_in_a_real_process(jetraw: Jetraw, tmp_path: Path) -> None:
    proc = jetraw.proc("upload", str(tmp_path / "nope.bin"), f"/{jetraw.space}/x")
    assert proc.returncode == 4
    assert (
        one_error_line(proc.stderr)
        == f"Error: No such local file or directory: {tmp_path / 'nope.bin'}"
    )
    proc = jetraw.proc("ls", "/data", env={"JETRAW_SERVER": "", "JETRAW_API_KEY": ""})
    assert proc.returncode == 2
    assert "JETRAW_SERVER" in one_error_line(proc.stderr)
