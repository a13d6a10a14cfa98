"""Strings people will read later refuse control characters (issue 12, finding 2, server side).

Metadata keys and values, user display names and API key names that carry C0 (incl. NUL, tab,
newline, ESC), DEL or C1 (incl. the one-byte CSI ``\\x9b``) could move the cursor, retitle or
clear the terminal of whoever lists them. New refusals answer ``422 control_character``; the
strings that were already refused keep their established answer (paths ``400 invalid_path``,
space and organisation names ``400 invalid_name``, ``/api/v1/api-keys`` names ``400``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from server_support import Api, assert_problem

from jetraw.testing import LocalPlatform

CONTROL = [
    "\x1b]0;title\x07",  # OSC: retitle the window
    "\x1b[2J",  # CSI: clear the screen
    "\x9b2J",  # the one-byte C1 CSI
    "nul\x00",
    "del\x7f",
    "tab\there",
    "new\nline",
    "\x85next-line",  # C1 NEL
]
FINE = ["plain", "ü ö é", "日本語", "emoji \U0001f600", "a b-c_d.e", "zero\u200bwidth"]


def _raw(api: Api, method: str, url: str, body: Any) -> httpx.Response:
    # ASCII escapes in the JSON, exactly what a hostile client sends.
    return api.request(
        method, url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize("bad", CONTROL)
def test_metadata_refuses_control_characters(api: Api, space: dict[str, Any], bad: str) -> None:
    name = space["name"]
    file = api.put(space, "m.txt", b"m", metadata={"ok": "yes"})
    for metadata in ({"k": bad}, {bad: "v"}, {"k": "fine", "x": f"prefix {bad} suffix"}):
        created = _raw(
            api, "POST", f"/spaces/{name}/uploads", {"path": "n", "size": 1, "metadata": metadata}
        )
        problem = assert_problem(created, 422, "control_character")
        assert bad not in problem["detail"]  # the offending input is never echoed
        assert problem["errors"][0]["type"] == "control_character"
        batch = _raw(
            api,
            "POST",
            f"/spaces/{name}/uploads/batch",
            {"uploads": [{"path": "b", "size": 1, "metadata": metadata}]},
        )
        assert_problem(batch, 422, "control_character")
        patched = _raw(api, "PATCH", f"/spaces/{name}/files/m.txt", {"metadata": metadata})
        assert_problem(patched, 422, "control_character")
    assert api.get(f"/spaces/{name}/files/m.txt").json()["metadata"] == file["metadata"]
    assert api.get("/uploads", params={"status": "pending"}).status_code == 200
    listing = api.get(f"/spaces/{name}/files").json()["items"]
    assert [item["path"] for item in listing] == ["m.txt"]


def test_metadata_accepts_printable_unicode(api: Api, space: dict[str, Any]) -> None:
    metadata = {text: text for text in FINE}
    file = api.put(space, "fine.txt", b"f", metadata=metadata)
    assert file["metadata"] == metadata
    patched = _raw(api, "PATCH", f"/spaces/{space['name']}/files/fine.txt", {"metadata": metadata})
    assert patched.status_code == 200, patched.text


@pytest.mark.parametrize("bad", CONTROL)
def test_names_refuse_control_characters(platform: LocalPlatform, api: Api, bad: str) -> None:
    admin = httpx.Client(
        base_url=platform.url,
        headers={"Authorization": f"Bearer {platform._admin_token}"},
        trust_env=False,
    )
    with admin:
        email = f"ctl-{abs(hash(bad))}@example.org"
        user = admin.post("/admin/v1/users", json={"email": email, "name": f"Eve {bad}"})
        assert_problem(user, 422, "control_character")
        key = admin.post(
            "/admin/v1/api-keys",
            json={
                "user": platform.admin_user_id,
                "organisation": platform.organisation,
                "name": f"key {bad}",
            },
        )
        assert_problem(key, 422, "control_character")
        for what, url, body in (
            ("organisation", "/admin/v1/organisations", {"name": f"org{bad}"}),
            (
                "space",
                "/admin/v1/spaces",
                {"organisation": platform.organisation, "name": f"s{bad}"},
            ),
        ):
            answer = admin.post(url, json=body)
            assert answer.status_code == 400, what
            assert_problem(answer, 400, "invalid_name")
        assert_problem(
            admin.post("/admin/v1/users", json={"email": f"a{bad}@x.org"}), 400, "invalid_request"
        )
    # The caller's own API: a key name was already refused (400, pinned by test_apikeys).
    own = _raw(api, "POST", "/api-keys", {"name": f"key {bad}"})
    assert_problem(own, 400, "invalid_request")
    space = _raw(api, "POST", "/spaces", {"name": f"s{bad}"})
    assert space.status_code == 400
    path = _raw(api, "POST", f"/spaces/{platform.space}/uploads", {"path": f"f{bad}", "size": 1})
    assert_problem(path, 400, "invalid_path")
    keys = api.get("/api-keys").json()["items"]
    assert not any(any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in k["name"]) for k in keys)


def test_display_names_accept_printable_unicode(platform: LocalPlatform) -> None:
    user = platform.create_user("uni@example.org", name="Zoë 日本 \U0001f600")
    assert user.name == "Zoë 日本 \U0001f600"
    platform.add_member(user, platform.organisation)
    assert platform.create_api_key(user, platform.organisation, name="Zoë's key ü")
