"""A file where a directory is (or a tree onto a file) says what is there, by the user's path."""

from __future__ import annotations

from pathlib import Path

import pytest

import jetraw as jr

from .conftest import Jetraw


def test_a_tree_onto_a_file_names_the_file(jetraw: Jetraw, tmp_path: Path) -> None:
    space = jetraw.space
    (tmp_path / "one").write_bytes(b"1")
    assert jetraw("upload", str(tmp_path / "one"), f"/{space}/f").exit_code == 0
    tree = tmp_path / "tree"
    (tree / "d").mkdir(parents=True)
    (tree / "a").write_bytes(b"a")
    (tree / "d" / "x").write_bytes(b"x")
    out = jetraw("upload", "-r", str(tree), f"/{space}/f")
    assert out.exit_code != 0
    text = out.stdout + out.stderr
    assert f"/{space}/f is a file, not a directory." in text, text
    assert "'f'" not in text, text


def test_a_file_onto_a_directory_says_it_is_a_directory(jetraw: Jetraw) -> None:
    space = jetraw.space
    assert jetraw("mkdir", f"/{space}/a/b").exit_code == 0
    client = jr.Client(api_key=jetraw.platform.api_key, server=jetraw.platform.url)
    with client, pytest.raises(jr.ConflictError) as caught:
        jr.JetrawPath(f"/{space}/a", client=client).write_bytes(b"x")
    assert str(caught.value).startswith(f"/{space}/a is a directory"), str(caught.value)
    assert caught.value.code == "is_a_directory"
