"""Test helpers for code that uses Jetraw: run the reference platform locally.

:class:`LocalPlatform` starts the reference platform on 127.0.0.1 (a child process by default);
the pytest plugin shipped with the package provides the fixtures ``jetraw_platform`` (one
platform for the test session) and ``jetraw_platform_factory`` (fresh platforms with chosen
settings, stopped after the test). Requires the ``server`` extra.
"""

from __future__ import annotations

from jetraw._public import set_public_module as _set_public_module
from jetraw.testing._platform import LocalPlatform, PlatformUser, parse_metrics

__all__ = ["LocalPlatform", "PlatformUser", "parse_metrics"]

_set_public_module("jetraw.testing", globals(), __all__)
