"""Uploads spread over the workers of a Dask ``distributed`` cluster.

Installed with the ``dask`` extra (``pip install 'jetraw[dask]'``, on the workers too):
:func:`upload` plans a tree of files on the driver, sends batches of them to the workers, each
uploading with a client of its own built from the options given (or from the worker's own
``JETRAW_API_KEY``/profile), and returns the same per-file result as :func:`jetraw.upload`.
See ``docs/dask.md``.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import distributed  # noqa: F401
except ImportError as err:  # pragma: no cover - the extra is missing
    raise ImportError(
        "jetraw.dask needs dask and distributed: pip install 'jetraw[dask]'", name=err.name
    ) from err

from jetraw._public import set_public_module as _set_public_module
from jetraw.dask._upload import upload

__all__ = ["upload"]

_set_public_module(__name__, globals(), __all__)
