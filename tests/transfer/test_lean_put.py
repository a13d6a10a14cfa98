"""The lean single-request PUT (jetraw/_storage/_s3_lean.py): same request, same errors as botocore.

A small S3 stand-in on 127.0.0.1 answers each key with a canned status and error document and
records what it was sent; every case runs through the lean path and through botocore
(``S3Storage.lean_put = False``), which must end in the same jetraw error.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jetraw._crc import crc32c, crc32c_b64
from jetraw._exceptions import StorageCredentialsError, StorageError
from jetraw._storage import S3Storage, is_retryable
from jetraw._storage._s3_lean import LeanPut

pytestmark = pytest.mark.anyio

_ERRORS = {
    "e403": (403, "AccessDenied", "Access Denied"),
    "e404": (404, "NoSuchBucket", "The specified bucket does not exist"),
    "e500": (500, "InternalError", "We encountered an internal error"),
    "e503": (503, "SlowDown", "Reduce your request rate"),
    "bad": (400, "BadDigest", "The CRC32C you specified did not match the calculated checksum"),
}


#: Buckets in eu-west-1 (a request signed for another region gets S3's answer), by how S3 says so.
_MOVED = {"moved301": "header", "movedbody": "body"}


class _Store(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    protocol_version = "HTTP/1.1"  # answers botocore's "Expect: 100-continue"

    def log_message(self, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        name = self.path.rsplit("/", 1)[-1]
        bucket = self.path.split("/")[1]
        if bucket in _MOVED and "/eu-west-1/s3/" not in self.headers.get("Authorization", ""):
            self._wrong_region(_MOVED[bucket])
            return
        if name in _ERRORS:
            status, code, message = _ERRORS[name]
            doc = (
                f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message><RequestId>body-{name}</RequestId></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("x-amz-request-id", f"req-{name}")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)
            return
        self._ok()

    def _wrong_region(self, how: str) -> None:
        if how == "header":  # S3's answer to a request sent to the wrong regional endpoint
            status, code, extra = 301, "PermanentRedirect", "<Endpoint>elsewhere</Endpoint>"
        else:  # the right endpoint, signed for the wrong region: the region in the body only
            status, code, extra = 400, "AuthorizationHeaderMalformed", "<Region>eu-west-1</Region>"
        doc = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>wrong region</Message>{extra}</Error>"
        ).encode()
        self.send_response(status)
        if how == "header":
            self.send_header("x-amz-bucket-region", "eu-west-1")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(doc)))
        self.end_headers()
        self.wfile.write(doc)

    def _ok(self) -> None:
        self.send_response(200)
        self.send_header("ETag", '"e"')
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lean-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lean-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_Store,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


async def _put(url: str, key: str, *, lean: bool, monkeypatch: pytest.MonkeyPatch) -> S3Storage:
    monkeypatch.setattr(S3Storage, "lean_put", lean)
    backend = S3Storage(bucket="bkt", prefix="pre", endpoint_url=url, addressing_style="path")
    data = os.urandom(3000)
    try:
        await backend.put_object(key, memoryview(bytearray(data)), crc32c=crc32c(data))
    finally:
        assert isinstance(backend._lean, LeanPut) is lean
        await backend.aclose()
    return backend


async def test_lean_put_sends_what_botocore_sends(
    store: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = store
    await _put(url, "dir/a b+c.raw", lean=True, monkeypatch=monkeypatch)
    await _put(url, "dir/a b+c.raw", lean=False, monkeypatch=monkeypatch)
    lean, boto = received
    assert lean["path"] == boto["path"] == "/bkt/pre/dir/a%20b%2Bc.raw"
    assert len(lean["body"]) == len(boto["body"]) == 3000
    for sent, data in ((lean, lean["body"]), (boto, boto["body"])):
        h = {k.lower(): v for k, v in sent["headers"].items()}
        assert h["x-amz-checksum-crc32c"] == crc32c_b64(crc32c(data))
        assert h["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
        auth = h["authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=lean-key/")
        assert "/us-east-1/s3/aws4_request" in auth
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        assert {"host", "x-amz-checksum-crc32c", "x-amz-content-sha256", "x-amz-date"} <= set(
            signed
        )
        assert "lean-secret" not in str(sent["headers"])


@pytest.mark.parametrize(
    ("key", "kind", "retryable"),
    [
        ("e403", StorageCredentialsError, False),
        ("e404", StorageError, False),
        ("e500", StorageError, True),
        ("e503", StorageError, True),
        ("bad", StorageError, False),
    ],
)
async def test_lean_put_errors_map_like_botocore(
    store: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    kind: type[StorageError],
    retryable: bool,
) -> None:
    url, _ = store
    errors = []
    for lean in (True, False):
        with pytest.raises(StorageError) as info:
            await _put(url, key, lean=lean, monkeypatch=monkeypatch)
        errors.append(info.value)
    got, expected = errors
    assert type(got) is type(expected) is kind
    assert got.code == expected.code == _ERRORS[key][1]
    assert got.status_code == expected.status_code == _ERRORS[key][0]
    assert got.request_id == expected.request_id == f"req-{key}"
    assert is_retryable(got) is is_retryable(expected) is retryable
    assert str(got) == str(expected)


def _signed_region(sent: dict[str, Any]) -> str:
    return str(sent["headers"]["Authorization"].split("Credential=")[1].split("/")[2])


@pytest.mark.parametrize("bucket", list(_MOVED))
async def test_lean_put_follows_region_redirect_like_botocore(
    store: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    """A bucket in another region: botocore retries in the bucket's region and so does the lean
    path (through botocore for that request, then signing for the learnt region)."""
    url, received = store
    for lean in (False, True):
        monkeypatch.setattr(S3Storage, "lean_put", lean)
        backend = S3Storage(
            bucket=bucket, region="us-east-1", endpoint_url=url, addressing_style="path"
        )
        try:
            for i in range(3):
                data = os.urandom(1000 + i)
                await backend.put_object(f"k{i}", memoryview(bytearray(data)), crc32c=crc32c(data))
            if lean:
                assert isinstance(backend._lean, LeanPut)
                assert backend._lean.region == "eu-west-1"
        finally:
            await backend.aclose()
    stored = [r for r in received if "/eu-west-1/s3/" in r["headers"]["Authorization"]]
    assert [r["path"] for r in stored] == [f"/{bucket}/k{i}" for i in range(3)] * 2
    assert all(len(r["body"]) == 1000 + i % 3 for i, r in enumerate(stored))
    # Each client pays the redirect once (botocore: its first request; lean: its lean attempt
    # and botocore's first try of the same request), then signs for eu-west-1.
    assert [_signed_region(r) for r in received] == (
        ["us-east-1"] + ["eu-west-1"] * 3 + ["us-east-1"] * 2 + ["eu-west-1"] * 3
    )


async def test_lean_put_region_redirect_is_not_retried_by_the_engine(
    store: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lean answer to a wrong region is WrongRegion (a fallback), not a ClientError."""
    from jetraw._storage._s3_lean import WrongRegion

    url, _ = store
    monkeypatch.setattr(S3Storage, "lean_put", True)
    backend = S3Storage(bucket="moved301", endpoint_url=url, addressing_style="path")
    try:
        lean = await backend._lean_put()
        assert lean is not None
        from jetraw._storage._s3_body import PartBody

        with pytest.raises(WrongRegion) as info:
            await lean.put(
                "moved301-key", PartBody(memoryview(b"x"), None), crc32c_b64(crc32c(b"x"))
            )
        assert info.value.region == "eu-west-1"
        assert info.value.old_region == "us-east-1"
        assert info.value.error.response["Error"]["Code"] == "PermanentRedirect"
    finally:
        await backend.aclose()


@pytest.mark.parametrize(
    "prefix",
    [
        "http://127.0.0.1:9000/bkt/",
        "https://bkt.s3.eu-west-1.amazonaws.com/",
        "https://s3.example.org:443/bkt/",
        "http://[::1]:8080/bkt/",
        "http://user@S3.Example.org:80/bkt/",
    ],
)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////wEaDH token=="])
@pytest.mark.parametrize("key", ["pre/dir/a b+c.raw", "pré/ü~x/%41*?#.raw", "k"])
def test_put_signer_matches_botocore(
    monkeypatch: pytest.MonkeyPatch, prefix: str, token: str | None, key: str
) -> None:
    import datetime

    import botocore.auth
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials

    from jetraw._storage._s3_sign import PutSigner

    now = 1796000000.0 + 3599.5  # a fixed second; both signers see the same clock
    fixed = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: fixed)
    region, crc = "eu-west-1", crc32c_b64(crc32c(b"x" * 5))
    signer = PutSigner(prefix, region)
    for secret in ("s3cr3t/+=", "other-secret"):  # the cached signing key follows the secret
        quoted, ours = signer.headers(
            key, length=65536, crc32c_b64=crc, access_key="AKID", secret_key=secret,
            token=token, now=now,
        )  # fmt: skip
        request = AWSRequest(
            "PUT",
            prefix + quoted,
            headers={"Content-Length": "65536", "x-amz-checksum-crc32c": crc},
        )
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
        S3SigV4Auth(Credentials("AKID", secret, token), "s3", region).add_auth(request)
        assert ours == dict(request.headers.items())
