"""The registry of every ``JETRAW_*`` environment variable jetraw reads: one typed table.

The readers (:mod:`jetraw._config`, the CLI, the reference server) take the names from here, and
the configuration reference of the documentation site is generated from :data:`ENV_VARS`; a test
checks that every ``JETRAW_`` name spelled in the package is registered.
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "ENV_API_KEY",
    "ENV_CONFIG_DIR",
    "ENV_DEBUG",
    "ENV_ORGANISATION",
    "ENV_PROFILE",
    "ENV_SERVER",
    "ENV_SERVER_DATABASE",
    "ENV_TOKEN_STORAGE",
    "ENV_TRUSTED_PROXIES",
    "ENV_VARS",
    "NOT_ENV_VARS",
    "EnvVar",
]


@dataclasses.dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, who reads it, its values and its default."""

    name: str
    read_by: str  # "SDK and CLI", "CLI", "server"
    meaning: str
    values: str = "any string"
    default: str = "unset"
    precedence: str = ""  # where it sits between an argument and the profile


ENV_API_KEY = "JETRAW_API_KEY"
ENV_SERVER = "JETRAW_SERVER"
ENV_ORGANISATION = "JETRAW_ORGANISATION"
ENV_PROFILE = "JETRAW_PROFILE"
ENV_CONFIG_DIR = "JETRAW_CONFIG_DIR"
# S105: an environment variable's name, not a secret
ENV_TOKEN_STORAGE = "JETRAW_TOKEN_STORAGE"  # noqa: S105
ENV_DEBUG = "JETRAW_DEBUG"
ENV_TRUSTED_PROXIES = "JETRAW_SERVER_TRUSTED_PROXIES"
ENV_SERVER_DATABASE = "JETRAW_SERVER_DATABASE"

_OVER_PROFILE = "below an argument (`refresh_token=`, `--server`, ...), above the profile"

ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        ENV_API_KEY,
        "SDK and CLI",
        "An API key, used as the refresh token: a client logs in with it, nothing is written "
        "to disk.",
        "an API key (`jrk_...`)",
        precedence=_OVER_PROFILE + " (the profile's stored token is then not used)",
    ),
    EnvVar(
        ENV_SERVER,
        "SDK and CLI",
        "The state server's URL (`https://...`, or `http://` for a local server).",
        "a URL",
        "the profile's `server`; no built-in default (an error says how to set one)",
        _OVER_PROFILE,
    ),
    EnvVar(
        ENV_ORGANISATION,
        "SDK and CLI",
        "The organisation to act in (name or id), when the user belongs to several.",
        "an organisation name or id",
        "the profile's `organisation`, else the API key's own organisation",
        _OVER_PROFILE,
    ),
    EnvVar(
        ENV_PROFILE,
        "SDK and CLI",
        "Which `[profiles.NAME]` of the config file to use.",
        "a profile name",
        "the file's `default_profile`, else `default`",
        "below `profile=` / `--profile`",
    ),
    EnvVar(
        ENV_CONFIG_DIR,
        "SDK and CLI",
        "The directory of `config.toml` and of the file secret store.",
        "a directory",
        "the platform's user config dir (`~/.config/jetraw` on Linux)",
    ),
    EnvVar(
        ENV_TOKEN_STORAGE,
        "SDK and CLI",
        "Where a login keeps its refresh token.",
        "`keyring`, `file` or `memory`",
        "the OS keyring, else a 0600 file under the config dir (one warning says so)",
    ),
    EnvVar(
        ENV_DEBUG,
        "CLI",
        "`1` is `--debug` (tracebacks and jetraw's debug logs), `all` is `--debug-all` (every "
        "library's debug logs, credentials masked).",
        "`1` or `all`",
        precedence="the flags win",
    ),
    EnvVar(
        ENV_TRUSTED_PROXIES,
        "server",
        "Comma-separated proxy addresses or networks whose forwarded headers the reference "
        "server believes (`*`: any peer).",
        "addresses / networks",
        "none trusted",
        "below `--trusted-proxy`",
    ),
    EnvVar(
        ENV_SERVER_DATABASE,
        "server",
        "The reference server's database: a `postgresql://user@host:port/db` URL, shared by "
        "several instances (see operations.md).",
        "a PostgreSQL URL",
        "SQLite in the data dir",
        "below `--database`",
    ),
)

#: ``JETRAW_``-prefixed strings in the package that are not environment variables.
NOT_ENV_VARS: dict[str, str] = {
    "JETRAW_SERVER_READY": "the line `python -m jetraw.server` prints once it serves",
    "_JETRAW_COMPLETE": "click's shell-completion switch (`jetraw completion bash` prints it)",
}
