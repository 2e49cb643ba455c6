"""Bad input, bad files and misuse raise clear exceptions; nothing crashes, nothing loaded is lost."""

from __future__ import annotations

import ctypes
import shutil

import pytest

import earshot
from earshot._native import lib
from conftest import TINY_MODEL, audio, golden_ids

GREEDY = {"max_tokens": 12, "loop_guard_repeats": 0}


def test_use_after_close_raises():
    m = earshot.Model(TINY_MODEL)
    s = m.session()
    s.close()
    s.close()   # idempotent
    with pytest.raises(earshot.ClosedError):
        s.transcribe(audio("short"))
    with pytest.raises(earshot.ClosedError):
        s.reset()
    m.close()
    m.close()
    with pytest.raises(earshot.ClosedError):
        m.transcribe(audio("short"))
    with pytest.raises(earshot.ClosedError):
        m.session()
    with pytest.raises(earshot.ClosedError):
        _ = m.mapped_bytes


def test_a_session_outlives_its_closed_model():
    m = earshot.Model(TINY_MODEL)
    s = m.session()
    m.close()
    assert s.transcribe(audio("short"), **GREEDY).token_ids == golden_ids("short")
    assert earshot.memory_report()["mapped"]["weights"] > 0
    s.close()


def _raw(name):
    return getattr(lib, name)


def test_the_abi_rejects_freed_zero_and_foreign_handles():
    h = ctypes.c_uint64()
    assert _raw("earshot_model_load")(str(TINY_MODEL).encode(), None, ctypes.byref(h)) == 0
    s = ctypes.c_uint64()
    assert _raw("earshot_session_create")(h.value, ctypes.byref(s)) == 0
    assert _raw("earshot_session_reset")(h.value) == 2   # a model handle is not a session
    assert b"is a model, not a session" in lib.earshot_last_error()
    assert _raw("earshot_model_free")(s.value) == 2
    assert b"is a session, not a model" in lib.earshot_last_error()
    assert _raw("earshot_session_free")(s.value) == 0
    assert _raw("earshot_session_free")(s.value) == 2   # double free
    assert b"not live" in lib.earshot_last_error()
    assert _raw("earshot_model_free")(h.value) == 0
    assert _raw("earshot_model_free")(h.value) == 2
    assert _raw("earshot_model_free")(0) == 2 and b"is 0" in lib.earshot_last_error()
    assert _raw("earshot_session_create")(h.value, ctypes.byref(s)) == 2
    assert _raw("earshot_session_cancel")(987654321) == 2
    # NULL pointers are errors, not crashes.
    assert _raw("earshot_model_load")(None, None, ctypes.byref(h)) == 1
    assert b"path is NULL" in lib.earshot_last_error()
    assert _raw("earshot_model_load")(str(TINY_MODEL).encode(), None, None) == 1
    assert _raw("earshot_memory_report")(None) == 1
    assert _raw("earshot_transcribe_file")(1, None, None, earshot._native.TEXT_CALLBACK(), None, None) == 1
    # Strings: freed once; a second free or a foreign pointer is refused.
    out = ctypes.c_void_p()
    assert _raw("earshot_memory_report")(ctypes.byref(out)) == 0
    assert _raw("earshot_string_free")(out) == 0
    assert _raw("earshot_string_free")(out) == 2
    foreign = ctypes.create_string_buffer(b"not ours")
    assert _raw("earshot_string_free")(ctypes.cast(foreign, ctypes.c_void_p)) == 2
    assert _raw("earshot_string_free")(None) == 0
    assert earshot.memory_report()["live_strings"] == 0


def test_bad_paths_raise_with_the_path():
    with pytest.raises(earshot.ModelError, match="/no/such/model"):
        earshot.Model("/no/such/model")
    with earshot.Model(TINY_MODEL) as m:
        with pytest.raises(earshot.AudioError, match="/no/such/audio.wav"):
            m.transcribe("/no/such/audio.wav")


@pytest.fixture
def model_copy(tmp_path):
    d = tmp_path / "model"
    shutil.copytree(TINY_MODEL, d)
    return d


def test_truncated_weights_raise(model_copy):
    w = model_copy / "model.safetensors"
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2])
    with pytest.raises(earshot.ModelError, match="model.safetensors"):
        earshot.Model(model_copy)


def test_hostile_header_raises(model_copy):
    w = model_copy / "model.safetensors"
    w.write_bytes((1 << 62).to_bytes(8, "little") + b"{}")
    with pytest.raises(earshot.ModelError):
        earshot.Model(model_copy)


def test_wrong_config_raises(model_copy):
    (model_copy / "config.json").write_text('{"model_type": "qwen3_asr", "thinker_config": 7}')
    with pytest.raises(earshot.ModelError, match="config"):
        earshot.Model(model_copy)
    (model_copy / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(earshot.ModelError, match="llama"):
        earshot.Model(model_copy)


def test_corrupt_and_empty_audio_raise(tmp_path, tiny_model):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff" + bytes(64))
    with pytest.raises(earshot.AudioError, match="junk.wav"):
        tiny_model.transcribe(str(junk))
    with pytest.raises(earshot.AudioError, match="no samples"):
        tiny_model.transcribe([])
    with pytest.raises(earshot.AudioError, match="too short"):
        tiny_model.transcribe([0.0] * 10)


def test_audio_longer_than_max_audio_seconds_raises(tiny_model):
    # short.wav is 0.3 s: refused at 0.1 s from its header, accepted at 60 s; samples likewise.
    with pytest.raises(earshot.AudioError, match="the limit is 0.1 s"):
        tiny_model.transcribe(audio("short"), max_audio_seconds=0.1, **GREEDY)
    with pytest.raises(earshot.AudioError, match="the limit is 0.5 s"):
        tiny_model.transcribe([0.0] * 16000, max_audio_seconds=0.5, **GREEDY)
    assert tiny_model.transcribe(audio("short"), max_audio_seconds=60, **GREEDY).audio_seconds > 0.2
    for bad in (0, -1, 1e300, "long"):
        with pytest.raises(earshot.InvalidArgumentError, match="max_audio_seconds"):
            tiny_model.transcribe(audio("short"), max_audio_seconds=bad)


def test_bad_options_and_samples_raise_invalid_argument(tiny_model):
    with pytest.raises(earshot.InvalidArgumentError, match="Klingon"):
        tiny_model.transcribe(audio("short"), language="Klingon")
    with pytest.raises(earshot.InvalidArgumentError, match="max_tokens"):
        tiny_model.transcribe(audio("short"), max_tokens=0)
    with pytest.raises(earshot.InvalidArgumentError, match="sample_rate"):
        tiny_model.transcribe([0.0] * 1600, sample_rate=0)
    with pytest.raises(earshot.InvalidArgumentError, match="finite"):
        tiny_model.transcribe([0.0] * 800 + [float("nan")] * 800)
    with pytest.raises(earshot.InvalidArgumentError, match="precision"):
        earshot.Model(TINY_MODEL, precision="q3")
    # Straight through the ABI: unknown keys and malformed JSON are named.
    out = ctypes.c_void_p()
    s = tiny_model.session()
    status = lib.earshot_transcribe_file(s._handle, audio("short").encode(), b'{"langauge": "en"}',
                                         earshot._native.TEXT_CALLBACK(), None, ctypes.byref(out))
    assert status == 1 and b"unknown option 'langauge'" in lib.earshot_last_error()
    status = lib.earshot_transcribe_file(s._handle, audio("short").encode(), b"{not json",
                                         earshot._native.TEXT_CALLBACK(), None, ctypes.byref(out))
    assert status == 1 and b"JSON object" in lib.earshot_last_error()
    assert out.value is None
    s.close()


def test_failures_leave_loaded_models_working(tiny_model, model_copy):
    (model_copy / "model.safetensors").write_bytes(b"\x00" * 16)
    for _ in range(3):
        with pytest.raises(earshot.ModelError):
            earshot.Model(model_copy)
        with pytest.raises(earshot.AudioError):
            tiny_model.transcribe("/no/such.wav")
    assert tiny_model.transcribe(audio("fox"), **GREEDY).token_ids == golden_ids("fox")
