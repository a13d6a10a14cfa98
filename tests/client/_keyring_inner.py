"""Secret-store tests that need a real OS keyring: run by test_keyring.py inside
``dbus-run-session`` with an unlocked gnome-keyring (never collected on their own).
"""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner

from jetraw._auth import _store
from jetraw._auth._store import SERVICE, KeyringStore, open_store, store_key
from jetraw.aio import AsyncClient
from jetraw.cli import cli
from jetraw.testing import LocalPlatform

from ._people import form_opener, unique_email

pytestmark = pytest.mark.skipif(
    os.environ.get("KEYRING_INNER") != "1", reason="run by test_keyring.py under dbus-run-session"
)


@pytest.fixture(autouse=True)
def _auto_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite defaults to memory; these tests are about the automatic choice.
    monkeypatch.delenv("JETRAW_TOKEN_STORAGE", raising=False)


def files_under(directory: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file()]


def test_probe_picks_the_secret_service() -> None:
    ok, backend = _store.keyring_available()
    assert ok, backend
    assert "SecretService" in type(keyring.get_keyring()).__module__
    assert isinstance(open_store(), KeyringStore)
    assert isinstance(open_store({"JETRAW_TOKEN_STORAGE": "keyring"}), KeyringStore)


def test_keyring_store_round_trip() -> None:
    store = KeyringStore()
    key = store_key("https://jet.example", "acme", "ada@example.org")
    store.set(key, {"refresh_token": "jrt_in_the_keyring"})
    assert "jrt_in_the_keyring" in (keyring.get_password(SERVICE, key) or "")
    assert store.get(key) == {"refresh_token": "jrt_in_the_keyring"}
    assert store.delete(key)
    assert keyring.get_password(SERVICE, key) is None
    assert not store.delete(key)


def test_cli_api_key_login_lives_in_the_keyring(jetraw_platform: LocalPlatform) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["login", "--api-key", "--server", jetraw_platform.url], input=jetraw_platform.api_key
    )
    assert result.exit_code == 0, result.output
    key = store_key(jetraw_platform.url, jetraw_platform.organisation, jetraw_platform.admin_email)
    assert jetraw_platform.api_key in (keyring.get_password(SERVICE, key) or "")
    config_dir = Path(os.environ["JETRAW_CONFIG_DIR"])
    assert not any(jetraw_platform.api_key in text for text in files_under(config_dir))
    result = runner.invoke(cli, ["whoami", "--json"])
    assert result.exit_code == 0, result.output
    assert jetraw_platform.admin_email in result.output
    result = runner.invoke(cli, ["logout"])
    assert result.exit_code == 0, result.output
    assert keyring.get_password(SERVICE, key) is None


@pytest.mark.anyio
async def test_browser_login_refresh_token_in_keyring(jetraw_platform: LocalPlatform) -> None:
    user = jetraw_platform.create_user(unique_email("keyring-user"))
    jetraw_platform.add_member(user)
    async with AsyncClient(server=jetraw_platform.url, refresh_token_if_empty=False) as c:
        await c.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
    key = store_key(jetraw_platform.url, jetraw_platform.organisation, user.email)
    assert '"refresh_token": "jrt_' in (keyring.get_password(SERVICE, key) or "")
    config_dir = Path(os.environ["JETRAW_CONFIG_DIR"])
    assert not any("jrt_" in text for text in files_under(config_dir))
    async with AsyncClient() as fresh:
        assert (await fresh.whoami()).email == user.email
        await fresh.logout()
    assert keyring.get_password(SERVICE, key) is None
