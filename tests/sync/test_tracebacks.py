"""An error raised through the sync facade: a short traceback, public names, pickling intact."""

from __future__ import annotations

import pickle
import traceback
from pathlib import Path

import pytest

import jetraw
from jetraw.testing import LocalPlatform

RUNTIME = ("_loop.py", "_iterate.py", "_runtime.py")


def _frames(error: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(error.__traceback__))


def _runtime_frames(frames: list[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    return [f for f in frames if "jetraw_sync" in f.filename]


def test_a_failing_sync_call_shows_the_user_line_then_the_core(
    jetraw_platform: LocalPlatform, tmp_path: Path
) -> None:
    client = jetraw.Client(refresh_token=jetraw_platform.api_key, server=jetraw_platform.url)
    try:
        with pytest.raises(jetraw.LocalPathNotFoundError) as info:
            client.upload(tmp_path / "missing", f"/{jetraw_platform.space}/x")
    finally:
        client.close()
    frames = _frames(info.value)
    # pytest.raises' own frame is outside the traceback; the first frame is this test's line.
    assert frames[0].name == "test_a_failing_sync_call_shows_the_user_line_then_the_core"
    runtime = _runtime_frames(frames)
    # The facade's one line (the generated method), then the core: not the runtime's raise, nor
    # the six frames of plumbing between the waiting thread and the loop's task.
    assert [Path(f.filename).name for f in runtime] == ["_generated_client.py"]
    assert frames.index(runtime[-1]) == 1
    assert all("jetraw_sync" not in f.filename for f in frames[2:])
    assert frames[-1].filename.endswith(str(Path("jetraw", "_transfer", "_plan.py")))
    text = "".join(traceback.format_exception(info.value))
    assert "jetraw.LocalPathNotFoundError: No such local file" in text
    assert "_exceptions" not in text


def test_path_errors_and_iterators_are_trimmed_too(jetraw_platform: LocalPlatform) -> None:
    client = jetraw.Client(refresh_token=jetraw_platform.api_key, server=jetraw_platform.url)
    try:
        missing = jetraw.JetrawPath(f"/{jetraw_platform.space}/no/such/file", client=client)
        with pytest.raises(jetraw.RemotePathNotFoundError) as info:
            missing.read_bytes()
        runtime = _runtime_frames(_frames(info.value))
        assert [Path(f.filename).name for f in runtime] == ["_generated_jetraw_path.py"]
        assert _frames(info.value)[0].name == "test_path_errors_and_iterators_are_trimmed_too"
        with pytest.raises(jetraw.JetrawError) as listing:
            list(jetraw.JetrawPath("/no-such-space/", client=client).iterdir())
        runtime = _runtime_frames(_frames(listing.value))
        # The iterator's step (the one runtime frame), then the core; no task plumbing.
        assert [Path(f.filename).name for f in runtime] == ["_iterate.py"], runtime
        assert not any(f.name in ("_main", "invoke", "result") for f in runtime)
    finally:
        client.close()


def test_the_cause_and_context_of_an_error_survive_the_trim() -> None:
    with pytest.raises(jetraw.ServerConnectionError) as info:
        # A key is checked at once: the constructor reaches for the (closed) port.
        jetraw.Client(refresh_token="jrk_unused", server="http://127.0.0.1:9")
    error = info.value
    assert type(error).__module__ == "jetraw"
    assert error.__cause__ is not None or error.__context__ is not None
    runtime = _runtime_frames(_frames(error))
    assert [Path(f.filename).name for f in runtime] == ["_generated_client.py"], runtime
    text = "".join(traceback.format_exception(error))
    assert "jetraw.ServerConnectionError" in text


def test_a_logged_out_whoami_shows_one_facade_frame(
    jetraw_platform: LocalPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No stored login, no key: the first call that needs one fails (LoginRequiredError).
    monkeypatch.setenv("JETRAW_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("JETRAW_API_KEY", "JETRAW_PROFILE", "JETRAW_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(jetraw.LoginRequiredError) as info:
        # Without credentials the constructor fails at once (it obtains a token up front).
        jetraw.Client(server=jetraw_platform.url).whoami()
    error = info.value
    frames = _frames(error)
    assert frames[0].name == "test_a_logged_out_whoami_shows_one_facade_frame"
    assert [Path(f.filename).name for f in _runtime_frames(frames)] == ["_generated_client.py"]
    assert type(error).__module__ == "jetraw"
    assert "jetraw.LoginRequiredError" in "".join(traceback.format_exception(error))


@pytest.mark.parametrize("name", jetraw._exceptions.__all__)
def test_every_public_exception_reports_jetraw_and_pickles(name: str) -> None:
    cls = getattr(jetraw, name)
    assert cls.__module__ == "jetraw", cls
    assert cls.__qualname__ == name
    try:
        error = cls("message")
    except TypeError:
        pytest.skip(f"{name} takes more than a message")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls
    assert str(again) == str(error)
