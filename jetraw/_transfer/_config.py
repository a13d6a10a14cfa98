"""``TransferConfig`` and part planning (pure functions, no I/O)."""

from __future__ import annotations

import dataclasses
import warnings

from jetraw._exceptions import ConfigurationError

__all__ = [
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "TransferConfig",
    "part_count",
    "plan_part_size",
]

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
#: S3 allows 10,000 parts; we stay strictly below.
MAX_PARTS = 9_999


_DEFAULT_ATTEMPTS = 5


@dataclasses.dataclass(frozen=True)
class TransferConfig:
    """How uploads and downloads are cut up and how much runs at once.

    A value object: compare and print it freely.

    Args:
        multipart_threshold: Files of at least this many bytes go as a multipart upload (and
            are downloaded in ranged parts); smaller ones in one request.
        part_size: The preferred part size (≥ 5 MiB). Larger files get larger equal parts so
            they fit in fewer than 10,000 parts.
        max_concurrency: Storage requests in flight at once, over all files and parts.
        max_bytes_in_flight: Part buffers held at once, over all files (the memory budget). A
            part larger than this still goes, alone.
        attempts: Tries of one storage request, the first included, on throttling, 5xx and
            connection errors (so ``attempts=1`` never retries). botocore's own retries are
            off, but aiohttp (under it) re-sends an idempotent request (a PUT of a file or a
            part, a GET, a HEAD) once when a kept-alive connection drops under it, and that
            cannot be switched off: such a request goes at most ``2 * attempts`` times; a POST
            (starting or completing a multipart upload) at most ``attempts`` times.
        retries: Deprecated: the old name of ``attempts`` (it counted the first try too, unlike
            ``AsyncClient(retries=)``, which counts only the extra ones).
        connect_timeout: Seconds to wait for a connection (and TLS handshake) to storage
            before the attempt counts as failed and is retried.
        read_timeout: Seconds storage may stay silent (no byte of an answer) once a request
            is sent, before the attempt counts as failed and is retried. S3 answers a PUT or
            GET within milliseconds and keeps a slow CompleteMultipartUpload alive with
            whitespace, so 30 s of silence is a stalled connection, not a slow store.
        batch_size: Files per batch call to the state server (create and complete).
        garbage_grace: Seconds before the client deletes an S3 object that an overwrite,
            delete or move replaced (when the server leaves that to the client), so readers
            that looked the old file up just before can finish.
    """

    multipart_threshold: int = 32 * MiB
    part_size: int = 8 * MiB
    max_concurrency: int = 10
    max_bytes_in_flight: int = 64 * MiB
    attempts: int = _DEFAULT_ATTEMPTS
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    batch_size: int = 100
    garbage_grace: float = 3600.0
    retries: dataclasses.InitVar[int | None] = None

    def __post_init__(self, retries: int | None) -> None:
        if retries is not None:
            if self.attempts != _DEFAULT_ATTEMPTS:
                raise TypeError("TransferConfig: pass attempts= only (retries= is its old name).")
            warnings.warn(
                "TransferConfig(retries=) is deprecated: use attempts= (the same number: tries "
                "of a storage request, the first included).",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "attempts", retries)
        if self.part_size < MIN_PART_SIZE or self.part_size > MAX_PART_SIZE:
            raise ConfigurationError("part_size must be between 5 MiB and 5 GiB.")
        if self.multipart_threshold < 0:
            raise ConfigurationError("multipart_threshold must not be negative.")
        if self.max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1.")
        if self.max_bytes_in_flight < 1:
            raise ConfigurationError("max_bytes_in_flight must be positive.")
        if self.attempts < 1:
            raise ConfigurationError("attempts must be at least 1.")
        if not self.connect_timeout > 0 or not self.read_timeout > 0:
            raise ConfigurationError("connect_timeout and read_timeout must be positive.")
        if not 1 <= self.batch_size <= 1000:
            raise ConfigurationError("batch_size must be between 1 and 1000.")

    def is_multipart(self, size: int) -> bool:
        """Whether a file of ``size`` bytes is sent in parts."""
        return size >= self.multipart_threshold and size > 0


# typing.get_type_hints cannot evaluate an InitVar annotation before Python 3.11, and the
# deprecated alias is init-only anyway: drop it from the annotations the public class shows.
del TransferConfig.__annotations__["retries"]


def plan_part_size(size: int, config: TransferConfig) -> int:
    """The equal part size for a multipart upload of ``size`` bytes.

    Raises:
        ConfigurationError: The file cannot fit in fewer than 10,000 parts of at most 5 GiB.
    """
    part = max(config.part_size, MIN_PART_SIZE)
    if -(-size // part) > MAX_PARTS:
        needed = -(-size // MAX_PARTS)
        part = -(-needed // MiB) * MiB  # whole MiB, for readable part sizes
    if part > MAX_PART_SIZE:
        raise ConfigurationError(
            f"A file of {size} bytes cannot be uploaded in fewer than 10,000 parts of at most "
            "5 GiB (the S3 limit)."
        )
    return part


def part_count(size: int, part_size: int) -> int:
    """Parts of ``part_size`` needed for ``size`` bytes (at least one)."""
    return max(1, -(-size // part_size))
