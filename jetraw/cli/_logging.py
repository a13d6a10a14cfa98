"""``--debug`` logging: jetraw's own loggers, third-party ones only on request, secrets masked.

botocore at DEBUG logs every request it signs (the ``Authorization`` header, the session token,
the canonical request and the signature), and httpx/httpcore may log headers; so ``--debug``
turns on DEBUG for ``jetraw.*`` only, ``--debug-all`` (or ``JETRAW_DEBUG=all``) for every
library, and all of it goes through :class:`RedactingFormatter`, which masks credentials
anywhere in the formatted record (message, arguments, traceback) with the SDK's
:class:`jetraw.RedactingFilter` patterns.
"""

from __future__ import annotations

import logging
import sys

from jetraw import RedactingFilter

__all__ = ["THIRD_PARTY_LOGGERS", "RedactingFormatter", "configure_debug_logging", "redact"]

#: The libraries whose DEBUG output ``--debug-all`` adds (named for documentation and tests).
THIRD_PARTY_LOGGERS = ("botocore", "aiobotocore", "urllib3", "httpx", "httpcore", "asyncio")

redact = RedactingFilter.redact


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback and stack included, has its secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_debug_logging(*, third_party: bool) -> logging.Handler:
    """Log to stderr: ``jetraw.*`` at DEBUG, everything else at DEBUG only with ``third_party``.

    Returns:
        The handler installed on the root logger (every record it writes is redacted).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s:%(name)s:%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if third_party else logging.WARNING)
    logging.getLogger("jetraw").setLevel(logging.DEBUG)
    return handler
