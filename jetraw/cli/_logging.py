"""``--debug`` logging: jetraw's own loggers, third-party ones only on request, secrets masked.

botocore at DEBUG logs every request it signs (the ``Authorization`` header, the session token,
the canonical request and the signature), and httpx/httpcore may log headers; so ``--debug``
turns on DEBUG for ``jetraw.*`` only, ``--debug-all`` (or ``JETRAW_DEBUG=all``) for every
library, and all of it goes through :class:`RedactingFormatter`, which masks credentials
anywhere in the formatted record (message, arguments, traceback).
"""

from __future__ import annotations

import logging
import re
import sys

__all__ = ["THIRD_PARTY_LOGGERS", "RedactingFormatter", "configure_debug_logging", "redact"]

#: The libraries whose DEBUG output ``--debug-all`` adds (named for documentation and tests).
THIRD_PARTY_LOGGERS = ("botocore", "aiobotocore", "urllib3", "httpx", "httpcore", "asyncio")

_MASK = "***"

# Each pattern keeps its group 1 (the name and separator) and masks what follows. The names are
# matched case-insensitively with whatever quoting and separator the log line uses: headers
# (`Name: value`), canonical requests (`name:value`), dict reprs (`'Name': b'value'`), query
# strings and form bodies (`name=value`), JSON (`"name": "value"`) and INI files (`name = value`).
_VALUE = r"""[^\s'"&,;}\]]+"""
_NAMED = (
    r"authorization",
    r"x-amz-security-token",
    r"x-amz-signature",
    r"x-amz-credential",
    r"aws_secret_access_key",
    r"aws_session_token",
    r"secretaccesskey",
    r"sessiontoken",
    r"access_token",
    r"refresh_token",
    r"id_token",
    r"client_secret",
    r"code_verifier",
    r"device_code",
    r"password",
    r"api_key",
    r"token",
)
_PATTERNS = [
    # `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` and
    # `Authorization: Bearer ...`: the whole header value, up to the end of line or quote.
    re.compile(r"""(?i)(authorization['"]?\s*[:=]\s*b?['"]?)[^'"\r\n]+"""),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\b(?:signature|credential)=)[^\s,&'\"]+"),
    # botocore.auth logs the signature on the line after "Signature:".
    re.compile(r"(?i)(\bsignature:\s*)[0-9a-f]{64}\b"),
    re.compile(
        r"""(?i)((?<![A-Za-z0-9_-])(?:"""
        + "|".join(_NAMED)
        + r""")['"]?\s*[:=]\s*(?:b?['"])?)"""
        + _VALUE
    ),
    # An authorization code in a redirect or a form body.
    re.compile(r"(?i)((?:^|[?&\s])code=)[^&\s'\"]+"),
    # XML answers (STS, `<SecretAccessKey>`) quoted in logs.
    re.compile(r"(?i)(<(?:SecretAccessKey|SessionToken|Token)>)[^<]+"),
    # The platform's own secrets wherever they stand: API keys `jrk_<id>_<secret>`, refresh tokens
    # `jrt_<id>_<secret>`, and signed access tokens `<base64url JSON>.<base64url MAC>` (and JWTs).
    re.compile(r"()\bjr[kt]_[0-9a-f]+_[A-Za-z0-9_-]+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){1,2}"),
]


def redact(text: str) -> str:
    """``text`` with every credential it holds replaced by ``***`` (names are kept)."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _MASK, text)
    return text


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
