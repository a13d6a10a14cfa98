"""Routes: filled in shortly."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["pages_router"]

pages_router = APIRouter()
