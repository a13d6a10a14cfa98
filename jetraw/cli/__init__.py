"""The ``jetraw`` command line."""

from __future__ import annotations

from jetraw.cli._main import cli, main

__all__ = ["cli", "main"]
