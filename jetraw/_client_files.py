"""File transfer methods that :class:`~jetraw.AsyncClient` gets through a mixin."""

from __future__ import annotations


class _FilesMixin:
    """Uploads, downloads, pending uploads and file operations of ``AsyncClient``."""

    async def _aclose_storage(self) -> None:
        """Close the storage backends this client opened (none yet)."""
