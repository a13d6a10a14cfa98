"""``jetraw://`` for fsspec: :class:`JetrawFileSystem`, and through it pandas, xarray, zarr,
dask, tifffile and ``universal_pathlib``'s ``UPath``.

Installed with the ``fsspec`` extra (``pip install 'jetraw[fsspec]'``), the filesystem is
registered for the protocol ``jetraw`` through fsspec's entry point, so ``fsspec.open(
"jetraw://space/a.tif")`` and ``pandas.read_csv("jetraw://space/t.csv")`` find it without an
import. See ``docs/fsspec.md``.
"""

from __future__ import annotations

try:
    import fsspec
except ImportError as err:  # pragma: no cover - the extra is missing
    raise ImportError(
        "jetraw.fs needs fsspec: pip install 'jetraw[fsspec]'", name=err.name
    ) from err

from jetraw._public import set_public_module as _set_public_module
from jetraw.fs._file import JetrawFile
from jetraw.fs._filesystem import JetrawFileSystem

__all__ = ["JetrawFile", "JetrawFileSystem"]

_set_public_module(__name__, globals(), __all__)
# Registered by the entry point once installed; this covers a source tree on sys.path.
fsspec.register_implementation("jetraw", JetrawFileSystem, clobber=True)
