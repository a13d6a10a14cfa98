"""Config and secret files: 0600, in directories made 0700, missing parents included."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from jetraw._config import Profile, save_profile, write_private_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_missing_parents_of_the_config_dir_are_made_0700(tmp_path: Path, umask: int) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    target = existing / "a" / "b" / "jetraw" / "config.toml"
    old = os.umask(umask)
    try:
        save_profile(Profile(name="default", server="https://example.org"), path=target)
        write_private_file(target.parent / "secrets" / "x.json", "{}", secret=True)
    finally:
        os.umask(old)
    assert _mode(target) == 0o600
    assert _mode(target.parent / "secrets" / "x.json") == 0o600
    for made in (existing / "a", existing / "a" / "b", target.parent, target.parent / "secrets"):
        assert _mode(made) == 0o700, made
    assert _mode(existing) == 0o755  # a directory it did not create keeps its mode
