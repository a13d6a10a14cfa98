"""`jetraw upload/download/ls/stat/cat/mv/rm/mkdir` end to end against the reference platform."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jetraw._crc import crc32c, crc32c_hex

from .conftest import Jetraw, make_tree

MiB = 1 << 20


def tree_files() -> dict[str, bytes]:
    return {
        "a.txt": b"hello\n",
        "empty.bin": b"",
        "sub/b.bin": os.urandom(100_000),
        "sub/deeper/c.raw": os.urandom(6 * MiB + 17),  # multipart with the part size below
    }


def test_upload_tree_then_list_read_download_move_delete(
    jetraw_any: Jetraw, tmp_path: Path
) -> None:
    jetraw = jetraw_any
    files = make_tree(tmp_path / "tree", tree_files())
    dest = f"/{jetraw.space}/run1/"
    up = jetraw(
        "upload", str(tmp_path / "tree"), dest, "-r", "--json",
        "--part-size", "5MiB", "--multipart-threshold", "5M", "--concurrency", "3",
    )  # fmt: skip
    assert up.exit_code == 0, up.stderr
    data = json.loads(up.stdout)
    assert data["ok"] is True
    assert data["failed"] == 0
    assert data["transferred"] == len(files)
    assert data["bytes"] == sum(len(b) for b in files.values())
    assert data["bytes_transferred"] == data["bytes"]
    by_remote = {f["remote"]: f for f in data["files"]}
    for rel, content in files.items():
        entry = by_remote[f"/{jetraw.space}/run1/{rel}"]
        assert entry["status"] == "uploaded"
        assert entry["size"] == len(content)
        assert entry["checksum"] == crc32c_hex(crc32c(content))
        assert entry["local"] == str(tmp_path / "tree" / rel)
        assert entry["error"] is None

    # ls: one level, names; -l: size, time, checksum; -R: every file; --json entries.
    ls = jetraw("ls", f"/{jetraw.space}/run1")
    assert ls.exit_code == 0, ls.stderr
    assert ls.stdout.splitlines() == ["a.txt", "empty.bin", "sub/"]
    long = jetraw("ls", "-l", "-R", f"/{jetraw.space}/run1/sub")
    rows = [line.split() for line in long.stdout.splitlines()]
    # ls and ls -l name entries in the same form: relative to the listed directory.
    assert [r[-1] for r in rows] == ["b.bin", "deeper/c.raw"]
    assert jetraw("ls", "-R", f"/{jetraw.space}/run1/sub").stdout.splitlines() == [
        "b.bin",
        "deeper/c.raw",
    ]
    assert [r[0] for r in rows] == ["100000", str(6 * MiB + 17)]  # bytes by default
    human = jetraw("ls", "-l", "-h", "-R", f"/{jetraw.space}/run1/sub")
    assert human.exit_code == 0, human.stderr
    hrows = [line.split() for line in human.stdout.splitlines()]
    assert [r[:2] for r in hrows] == [["97.7", "KiB"], ["6.0", "MiB"]]
    assert [r[-1] for r in hrows] == ["b.bin", "deeper/c.raw"]
    assert jetraw("ls", "-lh", f"/{jetraw.space}/run1").stdout.splitlines()[0].split()[:2] == [
        "6",
        "B",
    ]
    top = jetraw("ls", "-l", f"/{jetraw.space}/run1").stdout.splitlines()
    assert [line.split()[-1] for line in top] == ["a.txt", "empty.bin", "sub/"]
    assert "--human-readable" in jetraw("ls", "--help").stdout
    assert rows[0][0] == str(100_000)
    assert rows[0][3] == crc32c_hex(crc32c(files["sub/b.bin"]))
    assert rows[0][1].startswith("20")  # the modified date
    listed = json.loads(jetraw("ls", "--json", f"/{jetraw.space}/run1/").stdout)
    assert {e["path"]: e["type"] for e in listed} == {
        f"/{jetraw.space}/run1/a.txt": "file",
        f"/{jetraw.space}/run1/empty.bin": "file",
        f"/{jetraw.space}/run1/sub": "directory",
    }
    assert next(e for e in listed if e["type"] == "file")["size"] == 6
    spaces = jetraw("ls")
    assert f"/{jetraw.space}/" in spaces.stdout.splitlines()

    # stat
    st = json.loads(jetraw("stat", "--json", f"/{jetraw.space}/run1/sub/deeper/c.raw").stdout)
    assert st["type"] == "file"
    assert st["size"] == len(files["sub/deeper/c.raw"])
    assert st["checksum"] == crc32c_hex(crc32c(files["sub/deeper/c.raw"]))
    assert st["modified_at"]
    assert st["created_at"]
    text = jetraw("stat", f"/{jetraw.space}/run1/sub").stdout
    assert "Type:      directory" in text

    # cat: the exact bytes on stdout (a subprocess, so stdout is a real binary pipe)
    raw = jetraw.raw("cat", f"/{jetraw.space}/run1/sub/deeper/c.raw")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == files["sub/deeper/c.raw"]

    # download the tree, every byte
    out = tmp_path / "out"
    down = jetraw("download", "-r", f"/{jetraw.space}/run1", str(out), "--json")
    assert down.exit_code == 0, down.stderr
    got = json.loads(down.stdout)
    assert got["ok"]
    assert got["transferred"] == len(files)
    assert {f["status"] for f in got["files"]} == {"downloaded"}
    for rel, content in files.items():
        assert (out / rel).read_bytes() == content
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        files
    )

    # mv, then the old name is gone and the new one has the bytes
    mv = jetraw("mv", f"/{jetraw.space}/run1/a.txt", f"/{jetraw.space}/moved/a2.txt", "--json")
    assert mv.exit_code == 0, mv.stderr
    moved = json.loads(mv.stdout)
    assert moved["path"] == f"/{jetraw.space}/moved/a2.txt"
    assert moved["checksum"] == crc32c_hex(crc32c(files["a.txt"]))
    assert jetraw("stat", f"/{jetraw.space}/run1/a.txt").exit_code == 4
    single = tmp_path / "a2.txt"
    assert jetraw("download", f"/{jetraw.space}/moved/a2.txt", str(tmp_path)).exit_code == 0
    assert single.read_bytes() == files["a.txt"]

    # rm a file, then a tree
    assert jetraw("rm", f"/{jetraw.space}/moved/a2.txt").exit_code == 0
    assert jetraw("stat", f"/{jetraw.space}/moved/a2.txt").exit_code == 4
    assert jetraw("rm", "-r", f"/{jetraw.space}/run1").exit_code == 0
    gone = jetraw("ls", f"/{jetraw.space}/run1")
    assert gone.exit_code == 4
    assert jetraw("ls", f"/{jetraw.space}").stdout == ""


def test_upload_several_sources_and_download_several(jetraw: Jetraw, tmp_path: Path) -> None:
    make_tree(tmp_path / "d1", {"x.bin": b"x" * 10, "y/z.bin": b"z" * 20})
    (tmp_path / "f.txt").write_bytes(b"single")
    dest = f"/{jetraw.space}/multi/"
    up = jetraw("upload", "-r", str(tmp_path / "d1"), str(tmp_path / "f.txt"), dest, "--quiet")
    assert up.exit_code == 0, up.stderr
    assert up.stdout == ""
    listing = jetraw("ls", "-R", f"/{jetraw.space}/multi").stdout.split()
    assert listing == ["d1/x.bin", "d1/y/z.bin", "f.txt"]

    out = tmp_path / "back"
    down = jetraw("download", "-r", f"/{jetraw.space}/multi/d1", f"/{jetraw.space}/multi/f.txt",
                  str(out))  # fmt: skip
    assert down.exit_code == 0, down.stderr
    assert "Downloaded 3 of 3 files" in down.stdout
    assert (out / "d1" / "y" / "z.bin").read_bytes() == b"z" * 20
    assert (out / "f.txt").read_bytes() == b"single"

    # A trailing separator: into that directory, created if need be.
    fresh = tmp_path / "fresh"
    one = jetraw("download", f"/{jetraw.space}/multi/f.txt", f"{fresh}{os.sep}")
    assert one.exit_code == 0, one.stderr
    assert "Downloaded 1 of 1 file (6 B)" in one.stdout
    assert (fresh / "f.txt").read_bytes() == b"single"


def test_existing_files_skip_overwrite_and_per_file_summary(jetraw: Jetraw, tmp_path: Path) -> None:
    make_tree(tmp_path / "t", {"a": b"1", "b": b"22", "c": b"333"})
    dest = f"/{jetraw.space}/t/"
    assert jetraw("upload", "-r", str(tmp_path / "t"), dest).exit_code == 0

    (tmp_path / "t" / "b").write_bytes(b"changed")
    again = jetraw("upload", "-r", str(tmp_path / "t"), dest)
    assert again.exit_code == 7  # some files of a transfer failed
    assert "Traceback" not in again.stderr
    # One summary line for every file that exists, not one line each; no Python keyword.
    assert not [line for line in again.stderr.splitlines() if line.startswith("Failed: ")]
    assert (
        "3 files exist already; pass --skip-existing to keep them or --overwrite to replace them."
        in again.stderr.splitlines()
    )
    assert "overwrite=True" not in again.stderr
    assert "0 of 3 files" in again.stderr

    skip = jetraw("upload", "-r", str(tmp_path / "t"), dest, "--skip-existing", "--json")
    assert skip.exit_code == 7, skip.stderr  # b changed: same name, other bytes -> exists
    result = json.loads(skip.stdout)
    assert {f["remote"].rsplit("/", 1)[1]: f["status"] for f in result["files"]} == {
        "a": "skipped",
        "b": "failed",
        "c": "skipped",
    }
    assert result["skipped"] == 2
    assert result["failed"] == 1
    assert result["ok"] is False
    assert next(f for f in result["files"] if f["status"] == "failed")["error_type"] == (
        "RemotePathExistsError"
    )

    over = jetraw("upload", "-r", str(tmp_path / "t"), dest, "--overwrite")
    assert over.exit_code == 0, over.stderr
    clash = jetraw("mv", f"{dest}a", f"{dest}c")
    assert clash.exit_code == 5
    assert clash.stderr == f"Error: {dest}c exists already; pass --overwrite to replace it.\n"
    assert jetraw("mv", f"{dest}a", f"{dest}c", "--overwrite").exit_code == 0
    cat = jetraw("cat", f"/{jetraw.space}/t/b")
    assert cat.stdout_bytes == b"changed"


def test_mkdir_and_uploads_listing_empty(jetraw: Jetraw) -> None:
    made = jetraw("mkdir", f"/{jetraw.space}/empty", "--json")
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout) == {"path": f"/{jetraw.space}/empty", "type": "directory"}
    assert jetraw("mkdir", "-p", f"/{jetraw.space}/empty").exit_code == 0
    assert jetraw("ls", f"/{jetraw.space}").stdout.splitlines() == ["empty/"]
    removed = jetraw("rm", "-r", f"/{jetraw.space}/empty", "--json")
    assert removed.exit_code == 0, removed.stderr
    assert json.loads(removed.stdout) == {"deleted": [f"/{jetraw.space}/empty"]}
    assert jetraw("ls", f"/{jetraw.space}").stdout == ""
    listing = jetraw("uploads", "--space", jetraw.space, "--json")
    assert listing.exit_code == 0
    assert json.loads(listing.stdout) == []


def test_download_skip_existing_and_one_summary_line(jetraw: Jetraw, tmp_path: Path) -> None:
    names = {f"f{i:02}.txt": f"file {i}\n".encode() for i in range(12)}
    make_tree(tmp_path / "src", names)
    dest = f"/{jetraw.space}/dl/"
    assert jetraw("upload", "-r", str(tmp_path / "src"), dest).exit_code == 0
    out = tmp_path / "out"
    first = jetraw("download", "-r", dest, str(out))
    assert first.exit_code == 0, first.stderr

    again = jetraw("download", "-r", dest, str(out))
    assert again.exit_code == 7
    lines = again.stderr.splitlines()
    assert (
        "12 files exist already; pass --skip-existing to keep them or --overwrite to replace them."
        in lines
    )
    assert not [line for line in lines if line.startswith("Failed: ")]
    assert "overwrite=True" not in again.stderr

    (out / "f03.txt").write_bytes(b"edited locally")
    skip = jetraw("download", "-r", dest, str(out), "--skip-existing", "--json")
    assert skip.exit_code == 7, skip.stderr  # f03 differs: it exists, and is not replaced
    result = json.loads(skip.stdout)
    status = {Path(f["local"]).name: f["status"] for f in result["files"]}
    assert status.pop("f03.txt") == "failed"
    assert set(status.values()) == {"skipped"}
    assert (out / "f03.txt").read_bytes() == b"edited locally"

    (out / "f03.txt").unlink()
    (out / "f05.txt").unlink()
    rest = jetraw("download", "-r", dest, str(out), "--skip-existing")
    assert rest.exit_code == 0, rest.stderr
    assert "Downloaded 2 of 12 files" in rest.stdout
    assert "10 skipped (already there)" in rest.stdout
    assert (out / "f05.txt").read_bytes() == names["f05.txt"]

    one = jetraw("download", f"{dest}f01.txt", str(out / "f01.txt"))
    assert one.exit_code == 5
    assert one.stderr.strip().endswith(
        "exists already; pass --skip-existing to keep it or --overwrite to replace it."
    )
    both = jetraw("download", dest, str(out), "-r", "--skip-existing", "--overwrite")
    assert both.exit_code == 2


def test_download_into_a_read_only_dir_stops_with_one_message(
    jetraw: Jetraw, tmp_path: Path
) -> None:
    import subprocess

    from tests.conftest import require_system

    make_tree(tmp_path / "src", {f"f{i:02}": os.urandom(500) for i in range(15)})
    dest = f"/{jetraw.space}/ro/"
    assert jetraw("upload", "-r", str(tmp_path / "src"), dest).exit_code == 0
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mountpoint)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    require_system("mounting a read-only tmpfs (root)", mounted)
    try:
        out = jetraw("download", "-r", dest, str(mountpoint / "out"), "--concurrency", "2")
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
    assert out.exit_code == 7
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "read-only file system" in lines[0]
    assert lines[0].endswith("Stopped: 0 of 15 files downloaded.")
    assert "Traceback" not in out.stderr


def test_a_storage_error_names_the_users_path(jetraw: Jetraw, tmp_path: Path) -> None:
    (tmp_path / "f.raw").write_bytes(b"bytes that will vanish")
    remote = f"/{jetraw.space}/v/f.raw"
    assert jetraw("upload", str(tmp_path / "f.raw"), remote).exit_code == 0
    key = json.loads(jetraw("stat", remote, "--json").stdout).get("object_key")
    objects = [p for p in jetraw.storage_root.rglob("*") if p.is_file() and "objects" in p.parts]
    assert len(objects) == 1
    objects[0].unlink()  # gone from storage behind the platform's back
    for argv in (["cat", remote], ["download", remote, str(tmp_path / "out.raw")]):
        out = jetraw(*argv)
        assert out.exit_code != 0
        assert remote in out.stderr, out.stderr
        assert objects[0].name not in out.stderr, out.stderr
        assert key is None or key not in out.stderr
