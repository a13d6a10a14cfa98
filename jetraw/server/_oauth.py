"""Routes: filled in shortly."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["oauth_router"]

oauth_router = APIRouter()
