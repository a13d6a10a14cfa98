"""``python -m jetraw.cli``: the ``jetraw`` command."""

from __future__ import annotations

from jetraw.cli._main import main

__all__: list[str] = []

main()
