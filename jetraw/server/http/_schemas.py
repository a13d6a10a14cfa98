"""Request and response models of the JSON API: they validate input and document the OpenAPI.

Request models are strict (no coercion of ``"1"`` to ``1``) and forbid unknown fields, so a typo
such as ``"overwite"`` is an error rather than a silent default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from jetraw.server.store import CONTROL_CHARACTERS, SURROGATES

__all__ = [
    "CONTROL_CHARACTER",
    "MAX_BATCH",
    "MAX_SIZE",
    "ApiKeyOut",
    "BatchCompleteIn",
    "BatchCompleteItem",
    "BatchCompleteOut",
    "BatchCreateIn",
    "BatchCreateItem",
    "BatchCreateOut",
    "Checksum",
    "ChecksumOut",
    "CompleteIn",
    "CompleteItemIn",
    "DeleteOut",
    "DirectoryIn",
    "DirectoryOut",
    "DisplayText",
    "Entry",
    "FileList",
    "FileOut",
    "InModel",
    "LocalStorage",
    "LocalStorageIn",
    "MeOut",
    "MembershipOut",
    "Metadata",
    "MetadataIn",
    "MoveIn",
    "NameText",
    "OAuthErrorOut",
    "OrganisationList",
    "OrganisationOut",
    "OrganisationRoleOut",
    "OutModel",
    "PathText",
    "ProblemOut",
    "S3Storage",
    "S3StorageIn",
    "Size",
    "SpaceIn",
    "SpaceList",
    "SpaceOut",
    "Storage",
    "StorageCredentialsIn",
    "StorageIn",
    "Text",
    "UploadIn",
    "UploadList",
    "UploadOut",
    "UploadPatchIn",
    "UserOut",
    "storage_dict",
]

MAX_BATCH = 1000
MAX_SIZE = 2**53 - 1


#: The problem code of a string refused for a control character (answered 422).
CONTROL_CHARACTER = "control_character"


def _printable(value: str) -> str:
    # JSON may carry lone surrogates ("\ud800"), which SQLite cannot store.
    if SURROGATES.search(value) is not None:
        raise ValueError("contains a lone surrogate")
    return value


def _no_controls(value: str) -> str:
    # A string shown to people later (a terminal, a page): C0 (incl. tab and newline), DEL and
    # C1 (incl. the one-byte CSI "\x9b") would let it move the cursor, retitle the window or
    # clear the screen of whoever lists it.
    _printable(value)
    found = CONTROL_CHARACTERS.search(value)
    if found is not None:
        raise PydanticCustomError(
            CONTROL_CHARACTER,
            "contains the control character U+{codepoint}",
            {"codepoint": f"{ord(found.group()):04X}"},
        )
    return value


Text = Annotated[str, AfterValidator(_printable)]
_NO_CONTROLS = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
#: Text people will read: no control character (``422 control_character``), no lone surrogate.
DisplayText = Annotated[
    str, AfterValidator(_no_controls), Field(json_schema_extra={"pattern": _NO_CONTROLS})
]


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 64:
        raise ValueError("at most 64 keys")
    for key, item in value.items():
        _no_controls(key)
        _no_controls(item)
        if not key or len(key.encode()) > 128:
            raise ValueError("keys are 1-128 bytes")
        if len(item.encode()) > 1024:
            raise ValueError("values are at most 1,024 bytes")
    return value


Metadata = Annotated[
    dict[str, str],
    AfterValidator(_metadata),
    Field(
        json_schema_extra={
            "maxProperties": 64,
            "propertyNames": {"minLength": 1, "maxLength": 128, "pattern": _NO_CONTROLS},
            "additionalProperties": {"type": "string", "maxLength": 1024, "pattern": _NO_CONTROLS},
        }
    ),
]


def _integral(value: Any) -> Any:
    # JSON Schema counts 1.0 as an integer; "1" and true stay errors (strict mode).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Size = Annotated[int, Field(ge=0, le=MAX_SIZE), BeforeValidator(_integral)]
#: A path in a space; the full rules (segments, bytes, characters) are checked in ``_paths``.
PathText = Annotated[
    Text,
    Field(
        json_schema_extra={
            "minLength": 1,
            "maxLength": 1024,
            # relative, no empty/"."/".." segment, no control character or backslash
            "pattern": r"^(?!/)(?!.*//)(?!.*/$)(?!(.*/)?\.\.?(/|$))[^\x00-\x1f\x7f-\x9f\\]+$",
        }
    ),
]
#: A space or organisation name; checked by ``store.validate_name`` (code ``invalid_name``).
NameText = Annotated[Text, Field(json_schema_extra={"pattern": "^[a-z0-9][a-z0-9-]{0,62}$"})]


class InModel(BaseModel):
    # A request body: strict types, unknown fields refused.
    model_config = ConfigDict(strict=True, extra="forbid")


class OutModel(BaseModel):
    # A response body: fields beyond the declared ones pass through.
    model_config = ConfigDict(extra="allow")


class Checksum(InModel):
    """A whole-file checksum."""

    crc32c: Annotated[str, Field(pattern=r"^[0-9a-f]{8}$", description="CRC-32C, 8 hex digits")]
    sha256: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = None


class ChecksumOut(OutModel):
    crc32c: str | None = None
    sha256: str | None = None


class ProblemOut(OutModel):
    """RFC 9457 problem details with a stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


class OAuthErrorOut(ProblemOut):
    """An RFC 6749 §5.2 error of the OAuth endpoints, with the RFC 9457 problem fields."""

    error: str
    error_description: str


class UserOut(OutModel):
    id: str
    email: str
    name: str


class OrganisationOut(OutModel):
    id: str
    name: str


class OrganisationRoleOut(OutModel):
    id: str
    name: str
    role: Literal["admin", "member"]


class OrganisationList(OutModel):
    items: list[OrganisationRoleOut]


class MembershipOut(OutModel):
    organisation: OrganisationOut
    role: Literal["admin", "member"]


class MeOut(OutModel):
    user: UserOut
    organisation: OrganisationOut
    role: Literal["admin", "member"]
    memberships: list[MembershipOut]


class S3Storage(OutModel):
    type: Literal["s3"]
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    #: ``client``: the client's own AWS chain; ``granted``: the server signs each request.
    access: Literal["client", "granted"] = "client"


class LocalStorage(OutModel):
    type: Literal["local"]
    root: str


Storage = Annotated[S3Storage | LocalStorage, Field(discriminator="type")]


class LocalStorageIn(InModel):
    """Local storage; ``root`` (absolute) defaults to a directory in the server's data dir."""

    type: Literal["local"]
    root: Text | None = None


class StorageCredentialsIn(InModel):
    """Keys the server signs with on a space with granted access (write-only)."""

    access_key_id: Annotated[Text, Field(min_length=1, max_length=256)]
    secret_access_key: Annotated[Text, Field(min_length=1, max_length=256)]
    session_token: Annotated[Text | None, Field(max_length=4096)] = None


class S3StorageIn(InModel):
    """An S3 bucket (any S3-compatible endpoint)."""

    type: Literal["s3"]
    bucket: Annotated[Text, Field(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")]
    prefix: Text | None = None
    region: Text | None = None
    endpoint_url: Annotated[Text | None, Field(pattern=r"^https?://")] = None
    addressing_style: Literal["auto", "path", "virtual"] | None = None
    access: Literal["client", "granted"] | None = None
    #: The store's keys for ``access: "granted"`` (kept by the server, never returned).
    credentials: StorageCredentialsIn | None = None


StorageIn = Annotated[LocalStorageIn | S3StorageIn, Field(discriminator="type")]


def storage_dict(storage: LocalStorageIn | S3StorageIn | None) -> dict[str, Any] | None:
    """The descriptor as given (unset fields left out), for ``_spaces.validate_storage``."""
    return None if storage is None else storage.model_dump(exclude_unset=True)


class SpaceIn(InModel):
    name: NameText
    storage: StorageIn | None = None


class SpaceOut(OutModel):
    id: str
    name: str
    organisation: OrganisationOut
    storage: Storage
    created_at: str


class SpaceList(OutModel):
    items: list[SpaceOut]


class ApiKeyOut(OutModel):
    id: str
    name: str
    organisation: OrganisationOut
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None
    expires_at: str | None = Field(
        default=None, description="When the key stops working (RFC 3339); null: never."
    )
    hint: str
    key: str | None = None


class FileOut(OutModel):
    path: str
    type: Literal["file"]
    size: int
    checksum: ChecksumOut
    metadata: dict[str, str]
    object_key: str
    created_at: str
    modified_at: str
    upload_id: str | None = None
    garbage: list[str] | None = Field(
        default=None,
        description="Object keys replaced or deleted by this call that the client may remove "
        "from S3 storage after the grace period (present on complete and move).",
    )


class DirectoryOut(OutModel):
    path: str
    type: Literal["directory"]


Entry = Annotated[FileOut | DirectoryOut, Field(discriminator="type")]


class FileList(OutModel):
    items: list[Entry]
    next_cursor: str | None


class DeleteOut(OutModel):
    deleted: int
    garbage: list[str]


class MetadataIn(InModel):
    metadata: Metadata


class DirectoryIn(InModel):
    path: PathText
    exist_ok: bool = False


class MoveIn(InModel):
    source: PathText
    destination: PathText
    overwrite: bool = False


class UploadIn(InModel):
    path: PathText
    size: Annotated[
        Size | None,
        Field(
            description="The file's size; null (multipart only) when it is not known yet: "
            "complete then sets it."
        ),
    ]
    overwrite: bool = False
    metadata: Metadata = Field(default_factory=dict)
    multipart: bool = False

    @model_validator(mode="after")
    def _size_known_unless_multipart(self) -> UploadIn:
        if self.size is None and not self.multipart:
            raise ValueError("size may be null only for a multipart upload")
        return self


class UploadOut(OutModel):
    id: str
    space: str
    path: str
    size: int | None
    object_key: str
    status: Literal["pending", "completed", "aborted"]
    storage_upload_id: str | None
    overwrite: bool
    multipart: bool
    metadata: dict[str, str]
    created_at: str
    expires_at: str
    completed_at: str | None = None
    file: FileOut | None = None


class UploadList(OutModel):
    items: list[UploadOut]


class UploadPatchIn(InModel):
    storage_upload_id: Annotated[Text | None, Field(max_length=1024)]


class CompleteIn(InModel):
    size: Size
    checksum: Checksum


class CompleteItemIn(CompleteIn):
    id: Text


class BatchCreateIn(InModel):
    uploads: Annotated[list[UploadIn], Field(min_length=1, max_length=MAX_BATCH)]


class BatchCompleteIn(InModel):
    uploads: Annotated[list[CompleteItemIn], Field(min_length=1, max_length=MAX_BATCH)]


class BatchCreateItem(OutModel):
    upload: UploadOut | None
    error: ProblemOut | None


class BatchCreateOut(OutModel):
    results: list[BatchCreateItem]


class BatchCompleteItem(OutModel):
    file: FileOut | None
    error: ProblemOut | None


class BatchCompleteOut(OutModel):
    results: list[BatchCompleteItem]
