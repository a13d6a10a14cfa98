"""Credentials masked in log records: jetraw's, and botocore's, which logs every request it signs.

botocore at DEBUG logs the ``Authorization`` header, the session token, the canonical request and
the signature of every S3 request, and an STS answer's ``<SessionToken>``; httpx and httpcore may
log headers. :class:`RedactingFilter` masks all of them (and the platform's own API keys, refresh
and access tokens) in a record's message, arguments, traceback and stack. The SDK puts one on
botocore's and aiobotocore's loggers when it makes an S3 client (:func:`protect_library_loggers`),
so ``logging.basicConfig(level=logging.DEBUG)`` prints no secret; on a handler, it covers every
library that logs through that handler.
"""

from __future__ import annotations

import functools
import logging
import re

__all__ = ["LIBRARY_LOGGERS", "RedactingFilter", "protect_library_loggers", "redact"]

#: The libraries whose loggers :func:`protect_library_loggers` filters (they log credentials).
LIBRARY_LOGGERS = ("botocore", "aiobotocore")

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


@functools.cache
def _patterns() -> list[re.Pattern[str]]:
    # Compiled on first use (~2 ms at import otherwise, in every process, for text that is
    # redacted only when something is logged or an error is built).
    return [
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
        # The platform's own secrets wherever they stand: API keys `jrk_<id>_<secret>`, refresh
        # tokens `jrt_<id>_<secret>`, and signed access tokens `<base64url JSON>.<base64url MAC>`
        # (and JWTs).
        re.compile(r"()\bjr[kt]_[0-9a-f]+_[A-Za-z0-9_-]+"),
        re.compile(r"()\beyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){1,2}"),
    ]


def redact(text: str) -> str:
    """``text`` with every credential it holds replaced by ``***`` (names are kept)."""
    for pattern in _patterns():
        text = pattern.sub(lambda m: m.group(1) + _MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in every record it sees, and drops none.

    Attach it to a handler (``handler.addFilter(jetraw.RedactingFilter())``) to mask secrets in
    every record that handler writes, whichever library logged it; jetraw itself attaches one to
    botocore's and aiobotocore's loggers. The record is rewritten in place: its message with its
    arguments merged in, its formatted traceback (``exc_text``) and its ``stack_info``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's error to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

    @staticmethod
    def redact(text: str) -> str:
        """``text`` with every credential it holds replaced by ``***`` (names are kept)."""
        return redact(text)


_LIBRARY_FILTER = RedactingFilter()


def protect_library_loggers() -> None:
    """Put the shared :class:`RedactingFilter` on every logger of :data:`LIBRARY_LOGGERS`.

    A logger's filters see only the records logged on that logger itself (not those its children
    propagate), so the filter goes on each ``botocore.*`` / ``aiobotocore.*`` logger that exists,
    the modules' own loggers made when they were imported. Idempotent and cheap: a filter runs
    only for records whose level is enabled.
    """
    manager = logging.Logger.manager
    names = [name for name in list(manager.loggerDict) if name.split(".", 1)[0] in LIBRARY_LOGGERS]
    for name in (*LIBRARY_LOGGERS, *names):
        logger = logging.getLogger(name)
        if _LIBRARY_FILTER not in logger.filters:
            logger.addFilter(_LIBRARY_FILTER)
