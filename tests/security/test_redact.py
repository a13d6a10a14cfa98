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
