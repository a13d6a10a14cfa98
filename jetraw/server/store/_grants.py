"""Granted storage access: the server signs S3 requests with a space's own keys.

A space whose descriptor says ``access: "granted"`` keeps the store's keys in its descriptor
(``credentials``, never returned). The client asks ``POST /spaces/{space}/grants`` for
presigned URLs, one per request, and sends its bytes straight to the store; the server checks
what each key may be used for (:func:`authorise`), verifies a committed object with a HEAD
(:func:`verify_object`) and deletes replaced objects itself (:func:`delete_object`).

botocore is imported here only when a granted space is used. Presigning sends nothing; the HEAD,
DELETE and abort go to the store from the server. Neither keys nor URLs are ever logged.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from jetraw.server._problems import Problem

__all__ = [
    "OPERATIONS",
    "abort_multipart",
    "authorise",
    "delete_object",
    "presign",
    "verify_object",
]

#: operation -> (botocore method, HTTP method, whether it writes)
OPERATIONS: dict[str, tuple[str, str, bool]] = {
    "put": ("put_object", "PUT", True),
    "create_multipart": ("create_multipart_upload", "POST", True),
    "upload_part": ("upload_part", "PUT", True),
    "list_parts": ("list_parts", "GET", True),
    "complete_multipart": ("complete_multipart_upload", "POST", True),
    "abort_multipart": ("abort_multipart_upload", "DELETE", True),
    "delete": ("delete_object", "DELETE", True),
    "head": ("head_object", "HEAD", False),
    "get": ("get_object", "GET", False),
}

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _client(descriptor: dict[str, Any]) -> Any:
    """A botocore S3 client for the descriptor's keys (cached per descriptor)."""
    cache_key = json.dumps(descriptor, sort_keys=True)
    with _lock:
        found = _clients.get(cache_key)
        if found is not None:
            return found
        import botocore.config
        import botocore.session

        from jetraw._util import protect_library_loggers

        protect_library_loggers()  # botocore logs signed requests at DEBUG
        keys = descriptor["credentials"]
        session = botocore.session.get_session()
        found = session.create_client(
            "s3",
            region_name=descriptor.get("region") or "us-east-1",
            endpoint_url=descriptor.get("endpoint_url") or None,
            aws_access_key_id=keys["access_key_id"],
            aws_secret_access_key=keys["secret_access_key"],
            aws_session_token=keys.get("session_token") or None,
            config=botocore.config.Config(
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": descriptor.get("addressing_style") or "auto"},
                retries={"total_max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=30,
            ),
        )
        protect_library_loggers()
        if len(_clients) > 256:
            _clients.clear()
        _clients[cache_key] = found
        return found


def _crc_b64(value: int) -> str:
    return base64.b64encode(value.to_bytes(4, "big")).decode()


def presign(descriptor: dict[str, Any], op: dict[str, Any], ttl: float) -> dict[str, Any]:
    """One presigned request: ``{"method", "url", "headers"}`` (headers the client must send)."""
    method, http_method, _ = OPERATIONS[op["op"]]
    params: dict[str, Any] = {
        "Bucket": descriptor["bucket"],
        "Key": (descriptor.get("prefix") or "") + op["key"],
    }
    headers: dict[str, str] = {}
    if op.get("upload_id") is not None:
        params["UploadId"] = op["upload_id"]
    if op["op"] == "upload_part":
        params["PartNumber"] = op["part_number"]
    if op.get("crc32c") is not None and op["op"] in ("put", "upload_part", "complete_multipart"):
        # Signed: the store refuses a body (or an assembly) whose CRC-32C differs.
        params["ChecksumCRC32C"] = headers["x-amz-checksum-crc32c"] = _crc_b64(op["crc32c"])
    if op["op"] == "create_multipart":
        params["ChecksumAlgorithm"] = "CRC32C"
        params["ChecksumType"] = "FULL_OBJECT"
        headers["x-amz-checksum-algorithm"] = "CRC32C"
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    if op["op"] == "complete_multipart":
        params["ChecksumType"] = "FULL_OBJECT"
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    if op["op"] == "list_parts" and op.get("part_number_marker"):
        params["PartNumberMarker"] = op["part_number_marker"]
    url = _client(descriptor).generate_presigned_url(
        method, Params=params, ExpiresIn=max(1, int(ttl)), HttpMethod=http_method
    )
    return {"method": http_method, "url": url, "headers": headers}


def authorise(conn: Any, space: Any, user_id: str, op: dict[str, Any]) -> Problem | None:
    """Whether the caller may have ``op`` signed: writes only on the caller's pending uploads
    of this space (their object keys), reads on its files' objects or those uploads."""
    _, _, writes = OPERATIONS[op["op"]]
    pending = conn.execute(
        "SELECT 1 FROM uploads WHERE space_id = ? AND object_key = ? AND user_id = ? "
        "AND status = 'pending'",
        (space["id"], op["key"], user_id),
    ).fetchone()
    if pending is not None:
        return None
    if not writes:
        live = conn.execute(
            "SELECT 1 FROM files WHERE space_id = ? AND object_key = ?", (space["id"], op["key"])
        ).fetchone()
        if live is not None:
            return None
    return Problem(
        403, "grant_refused", "No access to this object: not a file or a pending upload of yours."
    )


def verify_object(
    descriptor: dict[str, Any], key: str, size: int, crc32c: int | None
) -> Problem | None:
    """HEAD the committed object: its size, and its CRC-32C where the store keeps one."""
    import botocore.exceptions

    client = _client(descriptor)
    try:
        answer = client.head_object(
            Bucket=descriptor["bucket"],
            Key=(descriptor.get("prefix") or "") + key,
            ChecksumMode="ENABLED",
        )
    except botocore.exceptions.ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return Problem(409, "object_missing", f"Nothing was written to {key!r} in storage.")
        return Problem(502, "storage_unavailable", f"Storage answered {status} on the check.")
    except botocore.exceptions.BotoCoreError as exc:
        name = type(exc).__name__
        return Problem(502, "storage_unavailable", f"Storage could not be reached: {name}.")
    actual = int(answer.get("ContentLength", -1))
    if actual != size:
        return Problem(409, "size_mismatch", f"The stored object has {actual} bytes, not {size}.")
    stored = answer.get("ChecksumCRC32C")
    if crc32c is not None and stored and "-" not in stored and stored != _crc_b64(crc32c):
        return Problem(
            409,
            "checksum_mismatch",
            f"The stored object's CRC-32C is {stored}, not the committed {_crc_b64(crc32c)}.",
        )
    return None


def delete_object(descriptor: dict[str, Any], key: str) -> None:
    """Delete one object (no error if it is gone). Raises botocore errors."""
    _client(descriptor).delete_object(
        Bucket=descriptor["bucket"], Key=(descriptor.get("prefix") or "") + key
    )


def abort_multipart(descriptor: dict[str, Any], key: str, upload_id: str) -> None:
    """Drop an open multipart upload (no error if it is gone)."""
    import botocore.exceptions

    try:
        _client(descriptor).abort_multipart_upload(
            Bucket=descriptor["bucket"],
            Key=(descriptor.get("prefix") or "") + key,
            UploadId=upload_id,
        )
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "NoSuchKey"):
            raise
