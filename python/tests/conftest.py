"""Shared fixtures: the repository's test data and process-memory readings."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "Tests" / "Fixtures" / "qwen3-asr-tiny"
TINY_MODEL = TINY / "model"
SPEECH = REPO / "Tests" / "Fixtures" / "speech"


def audio(name: str) -> str:
    return str(TINY / "audio" / f"{name}.wav")


def golden_ids(case: str) -> list:
    """greedy_ids of an official golden (safetensors: u64 header length, JSON header, data)."""
    raw = (TINY / "golden" / f"{case}.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    info = header["greedy_ids"]
    assert info["dtype"] == "I64"
    start, end = info["data_offsets"]
    data = raw[8 + n + start:8 + n + end]
    return list(struct.unpack(f"<{len(data) // 8}q", data))


def read_wav_int16(path: str):
    """(samples as a list of ints, sample rate) of a 16-bit mono PCM WAV."""
    import wave
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        frames = w.readframes(w.getnframes())
        return list(struct.unpack(f"<{len(frames) // 2}h", frames)), w.getframerate()


def status_kb(key: str) -> int:
    """A field of /proc/self/status in kB (e.g. RssAnon)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) - 1   # minus the one listdir used


def slope(values: list) -> float:
    """Least-squares slope per step."""
    n = len(values)
    if n < 2:
        return 0.0
    mx = (n - 1) / 2
    my = sum(values) / n
    num = sum((i - mx) * (v - my) for i, v in enumerate(values))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def whisper_dir(name: str) -> Path:
    cache = os.environ.get("EARSHOT_WHISPER_CACHE") or os.path.expanduser("~/.cache/earshot/whisper")
    return Path(cache) / name


@pytest.fixture
def require_whisper():
    """The tiny.en directory, or a skip (a failure when EARSHOT_REQUIRE_WHISPER=1)."""
    d = whisper_dir("tiny.en")
    if not (d / "model.bin").exists():
        message = f"Whisper tiny.en is not installed in {d.parent}; run scripts/fetch-whisper-models"
        if os.environ.get("EARSHOT_REQUIRE_WHISPER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return d


@pytest.fixture(scope="session")
def tiny_model():
    import earshot
    m = earshot.Model(TINY_MODEL)
    yield m
    m.close()
