"""The constructor arguments of ``AsyncClient`` that have more than one spelling.

``refresh_token=`` is the documented name (the user guide's ``Client(refresh_token="<key>")``);
``api_key=`` is the name users of boto3, huggingface_hub and the like reach for first. Both mean
the same: an API key (or a refresh token) used for this client only, never written anywhere.
"""

from __future__ import annotations

from jetraw._exceptions import ConfigurationError

__all__ = ["credential_argument"]


def credential_argument(refresh_token: str | None, api_key: str | None) -> str | None:
    """The one credential passed as ``refresh_token=`` or ``api_key=`` (``None``: neither).

    Raises:
        ConfigurationError: Both were passed, with different values.
    """
    if api_key is None:
        return refresh_token
    if refresh_token is not None and refresh_token != api_key:
        raise ConfigurationError(
            "Pass the API key once: refresh_token=... and api_key=... are the same argument "
            "and were given different values."
        )
    return api_key
