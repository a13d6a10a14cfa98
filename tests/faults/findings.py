"""The SDK bugs the fault matrix found, by cell: each is ``xfail(strict=True)`` with the finding
as its reason, so the suite stays green, and starts failing (XPASS) once the SDK is fixed.

Numbers match docs/reliability.md.
"""

from __future__ import annotations

__all__ = ["FINDINGS", "NOT_RUN", "finding"]

F7 = (
    "finding 7: a stalled complete endpoint costs files x 4 x (retries + 1) timeouts: "
    "complete_checked's own 4 attempts (not configurable) wrap StateServerHTTP's retries + 1 "
    "attempts, and after a failed batch-complete every file is completed alone, one after "
    "another; with 2 files, timeout=1 and retries=1 the upload takes ~21 s (18 requests), "
    "with the defaults (timeout=30, retries=3) ~8 min per file"
)

F4 = (
    "finding 4 (rest, server side): a device-login poll whose answer is lost after the server "
    "processed it fails the login when that poll was the approving one: the server marks the "
    "device code used on the first successful poll (jetraw/server/auth/_grants.py "
    "grant_device_code), so the retried poll gets invalid_grant; the SDK now retries transient "
    "poll failures and says the answer was lost, but only a server-side grace (the same "
    "tokens again for a few seconds, as for rotated refresh tokens) can recover this"
)

#: Cells whose finding is proved by a sibling cell and that would only repeat its wait.
NOT_RUN: set[tuple[str, str, str]] = set()

FINDINGS: dict[tuple[str, str, str], str] = {}
for _fault in ("reset_after_body", "reset_during_response", "truncated"):
    FINDINGS[("device", _fault, "transient")] = F4
FINDINGS[("complete", "stall", "persistent")] = F7


def finding(op: str, fault: str, variant: str) -> str | None:
    return FINDINGS.get((op, fault, variant))
