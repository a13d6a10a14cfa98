"""Storage errors told in the user's words: the remote path, not the internal object key.

Storage backends only know object keys (``objects/<uuid>``) and name them in their messages;
a user knows ``/space/dir/file``. The transfer engine, which knows both, rewrites the message
of a file's :class:`~jetraw.StorageError` once, keeping the key in ``error.object_key`` and the
debug log for whoever needs to find the object.
"""

from __future__ import annotations

import logging

from jetraw._exceptions import StorageError

__all__ = ["name_user_path"]

log = logging.getLogger("jetraw.transfer")


def name_user_path(exc: BaseException | None, key: str | None, path: str) -> None:
    """Put ``path`` (``/space/path``) in place of ``key`` in a storage error's message."""
    if not isinstance(exc, StorageError) or not key or exc.object_key is not None:
        return
    exc.object_key = key
    message = exc.message
    if key not in message:
        return
    exc.message = message.replace(repr(key), path).replace(key, path)
    exc.args = (exc.message, *exc.args[1:])
    log.debug("storage error for %s (object key %s): %s", path, key, message)
