"""``Client(api_key=...)``: the name boto3 users expect, the same as ``refresh_token=``."""

from __future__ import annotations

import pickle

import pytest

import jetraw
from jetraw.aio import AsyncClient, ConfigurationError, InvalidCredentialsError
from jetraw.testing import LocalPlatform


@pytest.mark.anyio
async def test_async_client_takes_api_key(jetraw_platform: LocalPlatform) -> None:
    async with AsyncClient(api_key=jetraw_platform.api_key, server=jetraw_platform.url) as c:
        me = await c.whoami()
        assert c.auth_source == "argument"
    async with AsyncClient(refresh_token=jetraw_platform.api_key, server=jetraw_platform.url) as c:
        assert (await c.whoami()) == me


def test_sync_client_takes_api_key_and_a_wrong_one_fails_at_once(
    jetraw_platform: LocalPlatform,
) -> None:
    with jetraw.Client(api_key=jetraw_platform.api_key, server=jetraw_platform.url) as c:
        assert c.auth_source == "argument"
        assert c.whoami().email
        # A pickled client carries the explicit key under the name it was passed as.
        again = pickle.loads(pickle.dumps(c))
        try:
            assert again.whoami() == c.whoami()
        finally:
            again.close()
    with pytest.raises(InvalidCredentialsError):
        jetraw.Client(api_key="jrk_not-a-key", server=jetraw_platform.url)


def test_both_names_with_different_values_is_refused(jetraw_platform: LocalPlatform) -> None:
    key = jetraw_platform.api_key
    with pytest.raises(ConfigurationError, match="Pass the API key once"):
        jetraw.Client(api_key=key, refresh_token=key + "x", server=jetraw_platform.url)
    # The same value twice is harmless.
    with jetraw.Client(api_key=key, refresh_token=key, server=jetraw_platform.url) as c:
        assert c.auth_source == "argument"
