"""Where a local space's root may be, and how the server creates it.

A local space's root is where clients write the space's objects and where cleanup deletes them,
so who picks it matters. Through the tenant API (``POST /api/v1/spaces``, an organisation admin)
the root is either omitted, and the server picks ``<spaces base>/<organisation id>/<space
name>``, or must lie inside the caller's own ``<spaces base>/<organisation id>/``. The spaces base
is ``ServerSettings.local_spaces_root`` (default ``<data dir>/spaces``). The operator (the admin
API, the first-run bootstrap) may put a root anywhere. For everyone, a root never overlaps
another space's root (neither inside nor around it) nor the data dir's private files (the
database, ``signing.key``, ``bootstrap.json``): a root is never the data dir or above it, and
inside it only under the spaces base. Paths are compared after resolving symlinks.

Directories the server creates are 0700, except below the spaces base, where they take the
base's permission bits: the base's mode is the operator's decision (a group-shared base makes
group-shared roots), and the default base inside the 0700 data dir is private.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from jetraw.server._problems import Problem
from jetraw.server._settings import ServerSettings
from jetraw.server.store._db import Connection

__all__ = ["check_local_root", "default_local_root", "make_root"]

_PRIVATE_DIR = 0o700


def _bad(detail: str) -> Problem:
    return Problem(400, "invalid_request", f"Invalid storage descriptor: {detail}")


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def default_local_root(settings: ServerSettings, organisation_id: str, name: str) -> Path:
    """The root the server picks for a new local space: ``<base>/<organisation id>/<name>``."""
    return settings.spaces_root / organisation_id / name


def check_local_root(
    conn: Connection,
    root: str,
    *,
    settings: ServerSettings,
    organisation_id: str,
    operator: bool,
) -> str:
    """The resolved root if its caller may have it, else ``400 invalid_request``.

    Args:
        conn: The database (for the other spaces' roots).
        root: The absolute, normalised root asked for (or picked by the server).
        settings: The server's settings (data dir, spaces base).
        organisation_id: The organisation the space is for.
        operator: The admin API or the bootstrap, not an organisation admin.
    """
    real = _real(root)
    data_dir = _real(settings.data_dir)
    base = _real(settings.spaces_root)
    if not operator:
        own = base / organisation_id
        if real == own or not real.is_relative_to(own):
            raise _bad(
                "a local root must be omitted (the server picks one) or lie inside "
                f"{own}/; other roots are set by the platform's operator."
            )
    if data_dir.is_relative_to(real):
        raise _bad("a local root cannot hold the server's data dir.")
    if real.is_relative_to(data_dir) and (real == base or not real.is_relative_to(base)):
        raise _bad(f"a local root inside the data dir must lie inside {base}/.")
    for row in conn.execute("SELECT storage FROM spaces").fetchall():
        other = json.loads(row["storage"])
        if other.get("type") == "local" and _overlaps(real, _real(other["root"])):
            raise Problem(409, "root_in_use", "The local root overlaps the root of another space.")
    return str(real)


def make_root(root: Path, settings: ServerSettings) -> None:
    """Create ``root`` and its missing parents (an existing directory keeps its mode).

    ``Path.mkdir(parents=True)`` would give new parents the umask's mode (0755 under the usual
    022), opening a space's bytes to every local user.

    Raises:
        OSError: A directory cannot be created.
    """
    base = _real(settings.spaces_root)
    if not base.exists() and root.is_relative_to(base):
        _make_dirs(base, _PRIVATE_DIR)
    mode = _PRIVATE_DIR
    if _real(root).is_relative_to(base) or root.is_relative_to(base):
        mode = stat.S_IMODE(os.stat(base).st_mode) & 0o2777
    _make_dirs(root, mode)


def _make_dirs(path: Path, mode: int) -> None:
    missing: list[Path] = []
    while not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=mode & 0o777)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue
        os.chmod(directory, mode)  # the umask only narrows; setgid needs chmod too
