"""Routes: filled in shortly."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["apikeys_router"]

apikeys_router = APIRouter()
