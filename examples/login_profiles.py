"""Logging in with an API key, two named profiles, and where the login is kept.

No browser: an API key is checked with ``whoami()`` and saved as a profile's login
(``jetraw login --api-key --profile NAME`` does the same on the command line). Self-contained:
starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``) and uses a
throw-away config directory (``JETRAW_CONFIG_DIR``), so your own logins are not touched.
Open it as a notebook (``# %%`` cells) in VS Code or Jupytext, or run it:

    uv run --frozen --extra server python examples/login_profiles.py
"""

# %% A local platform, a throw-away config directory, and a second API key
import os
import pathlib
import subprocess
import sys
import tempfile

import jetraw
from jetraw.testing import LocalPlatform

config_dir = tempfile.TemporaryDirectory()
os.environ["JETRAW_CONFIG_DIR"] = config_dir.name
os.environ.pop("JETRAW_API_KEY", None)
os.environ.pop("JETRAW_PROFILE", None)
platform = LocalPlatform()
platform.start()
with jetraw.Client(refresh_token=platform.api_key, server=platform.url) as admin:
    robot_key = admin.create_api_key("pipeline-robot").key
assert robot_key is not None  # the secret is shown only in the answer that created it


def use_token_storage(name: str) -> None:
    """Where logins are kept from now on: ``keyring``, ``file`` or ``memory``."""
    os.environ["JETRAW_TOKEN_STORAGE"] = name


# %% Token storage "memory": logins live in this process only
use_token_storage("memory")
with jetraw.Client(refresh_token=platform.api_key, server=platform.url, profile="lab") as c:
    me = c.save_login()  # checked with whoami(), then saved as profile "lab"
with jetraw.Client(refresh_token=robot_key, server=platform.url, profile="robot") as c:
    c.save_login()
with jetraw.Client(profile="lab") as lab, jetraw.Client(profile="robot") as robot:
    info = lab.login_info()
    print(f"profile lab: {lab.whoami().user.email} via {info.auth_source}, in {info.stored_in}")
    print(f"profile robot: {robot.whoami().user.email} via {robot.login_info().auth_source}")
config_toml = pathlib.Path(config_dir.name, "config.toml").read_text()
print("profiles in config.toml:", [ln for ln in config_toml.splitlines() if "[profiles." in ln])


def whoami_in_new_process(profile: str) -> str:
    """``jetraw whoami`` in a fresh process, as the next shell command would run it."""
    env = {**os.environ, "JETRAW_PROFILE": profile, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "jetraw.cli", "whoami"], capture_output=True, text=True, env=env
    )
    return (proc.stdout + proc.stderr).strip().splitlines()[0]


print("memory, next process:", whoami_in_new_process("lab"))

# %% Token storage that outlives the process: the OS keyring (else a 0600 file)
use_token_storage("keyring")
try:
    with jetraw.Client(refresh_token=platform.api_key, server=platform.url, profile="lab") as c:
        c.save_login()
    storage = "keyring"
except jetraw.ConfigurationError as err:  # no keyring (a container, CI without a keyring)
    print("no OS keyring here:", str(err).split(" (")[0])
    storage = "file"
    use_token_storage(storage)
    with jetraw.Client(refresh_token=platform.api_key, server=platform.url, profile="lab") as c:
        c.save_login()
with jetraw.Client(profile="lab") as lab:
    print(f"{storage}: stored in {lab.login_info().stored_in}")
assert me.user.email in whoami_in_new_process("lab")
print(f"{storage}, next process: logged in as {me.user.email}")

# %% Log out: the server revokes nothing for an API key, the stored secret is deleted
with jetraw.Client(profile="lab") as lab:
    lab.logout()
print("after logout:", whoami_in_new_process("lab"))

# %% Clean up
platform.stop()
config_dir.cleanup()
print("login profiles example done")
