"""The `--debug` redaction masks every credential form the libraries log."""

from __future__ import annotations

import logging

import pytest

from jetraw.cli._logging import RedactingFormatter, redact

SECRETS = {
    "session": "FwoGZXIvYXdzE+/Tok=",
    "sig": "0123456789abcdef" * 4,
    "akid": "AKIAEXAMPLE123",
    "secret": "wJalrXUtnFEMI/K7MDENG",
    "refresh": "jrt_0123456789abcdef_" + "R" * 43,
    "apikey": "jrk_0123456789abcdef_" + "K" * 43,
    "access": "eyJjaWQiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2ln",
}


@pytest.mark.parametrize(
    "line",
    [
        "headers={{'Authorization': b'AWS4-HMAC-SHA256 Credential={akid}/20260101/us-east-1/s3/"
        "aws4_request, SignedHeaders=host, Signature={sig}', "
        "'X-Amz-Security-Token': b'{session}'}}",
        "x-amz-security-token:{session}\nhost:127.0.0.1",
        "Signature:\n{sig}",
        "url=http://h/b/k?X-Amz-Credential={akid}%2F2026&X-Amz-Signature={sig}&"
        "X-Amz-Security-Token={session}",
        "[default]\naws_secret_access_key = {secret}\naws_session_token={session}",
        "<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{session}</SessionToken>",
        'body {{"access_token": "{access}", "refresh_token": "{refresh}"}}',
        "grant_type=refresh_token&refresh_token={refresh}&client_id=jetraw-cli",
        "Authorization: Bearer {access}",
        "a key {apikey} and a token {refresh} and {access} in plain text",
    ],
)
def test_redact_masks_credentials(line: str) -> None:
    text = redact(line.format(**SECRETS))
    for value in SECRETS.values():
        assert value not in text, text
    assert "***" in text


def test_redact_keeps_ordinary_text() -> None:
    text = "PUT /bucket/key -> 200 status_code=200 exit code: 3 part 2 of 5"
    assert redact(text) == text


def test_formatter_redacts_arguments_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError(f"bad token {SECRETS['refresh']}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "botocore.auth",
            logging.DEBUG,
            __file__,
            1,
            "key %s",
            (SECRETS["apikey"],),
            sys.exc_info(),
        )
    out = formatter.format(record)
    assert SECRETS["apikey"] not in out
    assert SECRETS["refresh"] not in out
    assert "ValueError" in out


def _record(name: str, msg: str, args: tuple[object, ...], exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError(f"bad token {SECRETS['refresh']}")
        except ValueError:
            import sys

            info = sys.exc_info()
    return logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args, info)


def test_the_public_filter_masks_message_arguments_and_traceback_in_place() -> None:
    from jetraw import RedactingFilter

    record = _record("anything", "key %s session %s", (SECRETS["apikey"], SECRETS["session"]))
    record.msg = "X-Amz-Security-Token: %s and key %s"
    record.args = (SECRETS["session"], SECRETS["apikey"])
    broken = _record("anything", "oops", (), exc=True)
    broken.stack_info = f"Stack (most recent call last):\n  refresh_token={SECRETS['refresh']}"
    assert RedactingFilter().filter(record)  # never drops a record
    assert RedactingFilter().filter(broken)
    out = logging.Formatter("%(message)s").format(record)
    assert SECRETS["session"] not in out
    assert SECRETS["apikey"] not in out
    assert out.startswith("X-Amz-Security-Token: ***")
    text = logging.Formatter("%(message)s").format(broken)
    assert SECRETS["refresh"] not in text
    assert "ValueError" in text
    plain = _record("anything", "part %d of %d", (2, 5))
    assert RedactingFilter().filter(plain)
    assert plain.getMessage() == "part 2 of 5"
    assert plain.args == (2, 5)  # untouched when there is nothing to mask


def test_library_loggers_are_protected_where_the_records_are_made() -> None:
    # A logger's filters see only its own records, so the filter must sit on botocore.auth
    # itself, not only on "botocore"; any handler then writes the masked record.
    import botocore.auth  # noqa: F401  (its logger exists once the module is imported)

    from jetraw._util import protect_library_loggers

    protect_library_loggers()
    protect_library_loggers()  # idempotent
    logger = logging.getLogger("botocore.auth")
    assert len([f for f in logger.filters if type(f).__name__ == "RedactingFilter"]) == 1
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        logger.debug("CanonicalRequest:\nx-amz-security-token:%s", SECRETS["session"])
        logger.debug("Signature:\n%s", SECRETS["sig"])
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    assert len(seen) == 2
    assert all(SECRETS["session"] not in m and SECRETS["sig"] not in m for m in seen), seen
