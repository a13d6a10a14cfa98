"""Configuration: the profiles file, the ``JETRAW_*`` environment variables, and their precedence.

Precedence is argument → environment → profile (the one written by the last login). The
profiles file is TOML in the platformdirs config dir (``JETRAW_CONFIG_DIR`` overrides it)::

    default_profile = "default"

    [profiles.default]
    server = "https://jetraw.example.org"
    organisation = "acme"
    user = "ada@example.org"
    aws_profile = "lab"          # optional

Secrets are never in it: they live in the secret store (:mod:`jetraw._auth._store`).
Everything here is free of network I/O; file reads and writes are small and atomic.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from jetraw._exceptions import ConfigurationError
from jetraw._util import atomic_write
from jetraw._util._env import (
    ENV_API_KEY,
    ENV_CONFIG_DIR,
    ENV_ORGANISATION,
    ENV_PROFILE,
    ENV_SERVER,
    ENV_TOKEN_STORAGE,
)

__all__ = [
    "ENV_API_KEY",
    "ENV_CONFIG_DIR",
    "ENV_ORGANISATION",
    "ENV_PROFILE",
    "ENV_SERVER",
    "ENV_TOKEN_STORAGE",
    "NO_SERVER_MESSAGE",
    "Profile",
    "ResolvedConfig",
    "config_dir",
    "config_path",
    "io_error",
    "load_config",
    "normalise_server",
    "remove_profile",
    "resolve",
    "same_server",
    "save_profile",
    "write_private_file",
]


DEFAULT_PROFILE = "default"

NO_SERVER_MESSAGE = (
    "No Jetraw server configured: pass server=... (CLI: --server URL), set JETRAW_SERVER, "
    "or run `jetraw login --server URL` once to save it in a profile."
)


@dataclasses.dataclass(frozen=True)
class Profile:
    """One ``[profiles.NAME]`` table of the config file."""

    name: str
    server: str
    organisation: str | None = None
    user: str | None = None
    aws_profile: str | None = None

    def to_toml(self) -> dict[str, str]:
        """The table as written (``None`` fields left out)."""
        out = {"server": self.server}
        for key in ("organisation", "user", "aws_profile"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclasses.dataclass(frozen=True)
class ResolvedConfig:
    """The outcome of resolution: where to connect and which credential to use.

    ``auth_source`` says where the credential came from: ``"argument"``, ``"env:JETRAW_API_KEY"``,
    ``"profile:NAME"`` or ``None`` (no credential found).
    """

    server: str | None
    organisation: str | None
    api_key: str | None = dataclasses.field(repr=False)
    profile: Profile | None
    profile_name: str
    auth_source: str | None
    aws_profile: str | None = None


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory of the config file and the file secret store."""
    env = os.environ if env is None else env
    explicit = env.get(ENV_CONFIG_DIR)
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir("jetraw", appauthor=False))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The TOML config file."""
    return config_dir(env) / "config.toml"


def normalise_server(url: str) -> str:
    """Check and canonicalise a server URL (scheme required, no trailing slash)."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"Server URL {url!r} must start with https:// (or http:// for a local server)."
        )
    rest = url.split("://", 1)[1]
    if not rest.strip("/"):
        raise ConfigurationError(f"Server URL {url!r} has no host.")
    return url.rstrip("/")


def _server_identity(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(normalise_server(url))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"Server URL {url!r} has an invalid port.") from None
    port = port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def same_server(a: str, b: str) -> bool:
    """Whether two server URLs name the same server: scheme, host, port (defaults filled in) and
    path, compared case-insensitively where URLs are.

    A stored credential is sent only to the server it was issued by; this decides that.

    Raises:
        ConfigurationError: A URL is malformed.
    """
    return _server_identity(a) == _server_identity(b)


def io_error(
    action: str, path: Path, error: OSError, *, secret: bool = False
) -> ConfigurationError:
    """The :class:`ConfigurationError` for a failed read or write of a jetraw file.

    The one boundary where ``OSError`` (permissions, a read-only or full disk, a path through a
    regular file) becomes a jetraw error that names the path and what to do.
    """
    why = error.strerror or type(error).__name__
    fix = (
        f"make {path.parent} writable by this user (check its owner and free space), or set "
        f"{ENV_CONFIG_DIR} to a directory that is"
    )
    if secret:
        fix += f", or set {ENV_TOKEN_STORAGE}=keyring (or memory) to keep the secret elsewhere"
    return ConfigurationError(f"Cannot {action} {path}: {why}. To fix it, {fix}.")


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the config file; a missing file is an empty config.

    Raises:
        ConfigurationError: The file is not valid TOML or cannot be read.
    """
    path = path or config_path()
    try:
        with path.open("rb") as f:
            # Imported here: most processes have no config file (API key and server from the
            # environment), and reading none needs no TOML parser.
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - exercised on 3.10 only
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
            data: dict[str, Any] = tomllib.load(f)
            return data
    except (FileNotFoundError, NotADirectoryError):
        # Nothing can exist there; a write to that place reports the problem.
        return {}
    except ValueError as error:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        raise ConfigurationError(f"The config file {path} is not valid TOML: {error}") from None
    except OSError as error:
        raise io_error("read the config file", path, error) from error


def _profile_from(name: str, table: Any, path: Path) -> Profile:
    if not isinstance(table, dict) or not isinstance(table.get("server"), str):
        raise ConfigurationError(f"Profile {name!r} in {path} has no server.")
    return Profile(
        name=name,
        server=table["server"],
        organisation=table.get("organisation"),
        user=table.get("user"),
        aws_profile=table.get("aws_profile"),
    )


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and every missing parent 0700, leaving existing ones as they are.

    ``Path.mkdir(parents=True, mode=...)`` gives only the last directory that mode; the parents
    it creates get the umask's default (often 0755), which would show who has a jetraw config.
    """
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it first: its mode is its own
        path.chmod(0o700)  # mkdir's mode is masked by the umask


def write_private_file(path: Path, text: str, *, secret: bool = False) -> None:
    """Replace ``path`` with ``text`` atomically (:func:`jetraw._util.atomic_write`), mode 0600
    in a 0700 directory, never half a file.

    Raises:
        ConfigurationError: The directory or the file cannot be written.
    """
    try:
        _make_private_dirs(path.parent)
        atomic_write(path, text, mode=0o600, parent_mode=0o700)
    except OSError as error:
        what = "write the secret file" if secret else "write the config file"
        raise io_error(what, path, error, secret=secret) from error


def save_profile(profile: Profile, *, make_default: bool = True, path: Path | None = None) -> Path:
    """Write (or replace) one profile, keeping the others; optionally make it the default.

    Raises:
        ConfigurationError: The config file cannot be read or written.
    """
    path = path or config_path()
    data = load_config(path)
    profiles = dict(data.get("profiles") or {})
    profiles[profile.name] = profile.to_toml()
    data["profiles"] = profiles
    if make_default or "default_profile" not in data:
        data["default_profile"] = profile.name
    import tomli_w  # only writing a config file needs it

    write_private_file(path, tomli_w.dumps(data))
    return path


def remove_profile(name: str, *, path: Path | None = None) -> bool:
    """Delete a profile (and the default pointer to it). Returns whether it existed.

    Raises:
        ConfigurationError: The config file cannot be read or written.
    """
    path = path or config_path()
    data = load_config(path)
    profiles = dict(data.get("profiles") or {})
    existed = profiles.pop(name, None) is not None
    data["profiles"] = profiles
    if data.get("default_profile") == name:
        data.pop("default_profile")
    if existed:
        import tomli_w

        write_private_file(path, tomli_w.dumps(data))
    return existed


def resolve(
    *,
    api_key: str | None,
    server: str | None,
    organisation: str | None,
    profile: str | None,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    path: Path | None = None,
) -> ResolvedConfig:
    """Apply argument → environment → profile precedence. Pure given ``env`` and ``config``.

    Raises:
        ConfigurationError: An explicitly named profile does not exist and no ``server``
            argument is given (with one, it is the profile a login creates), or a URL is
            malformed.
    """
    env = os.environ if env is None else env
    path = path or config_path(env)
    config = load_config(path) if config is None else config
    profiles = config.get("profiles") or {}
    named = profile or env.get(ENV_PROFILE)
    profile_name = named or str(config.get("default_profile") or DEFAULT_PROFILE)
    prof: Profile | None = None
    if profile_name in profiles:
        prof = _profile_from(profile_name, profiles[profile_name], path)
    elif named and not server:
        # Named together with a server argument (`jetraw login --server URL --profile lab`,
        # `Client(key, server=..., profile="lab")`), a profile that does not exist yet is the one
        # the login creates. Otherwise it is most likely a typo: JETRAW_SERVER alone, often set
        # for good in a shell, does not make a misspelt profile name pass silently.
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(
            f"No profile {named!r} in {path} (profiles: {known}); run "
            f"`jetraw login --profile {named} --server URL` to create it."
        )

    server = server or env.get(ENV_SERVER) or (prof.server if prof else None)
    if api_key:
        source: str | None = "argument"
    elif env.get(ENV_API_KEY):
        api_key, source = env[ENV_API_KEY], f"env:{ENV_API_KEY}"
    elif prof is not None and (server is None or same_server(server, prof.server)):
        source = f"profile:{prof.name}"
    else:
        # A profile's login was issued by the profile's server: it is never offered to another
        # one (an argument or JETRAW_SERVER pointing elsewhere), which would leak the secret.
        source = None
    # An API key carries its own default organisation; a profile's belongs to another login.
    from_profile = prof is not None and source == f"profile:{prof.name}"
    org_default = prof.organisation if prof is not None and from_profile else None
    organisation = organisation or env.get(ENV_ORGANISATION) or org_default
    return ResolvedConfig(
        server=normalise_server(server) if server else None,
        organisation=organisation or None,
        api_key=api_key or None,
        profile=prof,
        profile_name=profile_name,
        auth_source=source,
        aws_profile=prof.aws_profile if prof else None,
    )
