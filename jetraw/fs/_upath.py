"""``UPath("jetraw://space/dir")``: jetraw paths for ``universal_pathlib``.

Registered through ``universal_pathlib``'s entry point, so ``UPath`` picks it for the protocol
``jetraw`` once both are installed; every operation goes through :class:`JetrawFileSystem`.
"""

from __future__ import annotations

from upath import UPath

__all__ = ["JetrawUPath"]


class JetrawUPath(UPath):
    """A ``jetraw://space/path`` as a :class:`upath.UPath` (a ``pathlib.Path`` of a space).

    Keyword arguments are the filesystem's options (``server``, ``api_key``, ``config``, ...)::

        base = UPath("jetraw://data/run-7", server="http://127.0.0.1:8000")
        (base / "frame-0001.tif").read_bytes()
    """

    __slots__ = ()
