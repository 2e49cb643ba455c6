"""Inputs the binding checks before they reach C: integers that ctypes would wrap, NUL in file names,
sample arrays beyond the documented limit (refused before any copy), and file names that are not UTF-8."""

from __future__ import annotations

import array
import os
import shutil
import tracemalloc

import pytest

import earshot
from earshot import _audio
from conftest import TINY_MODEL, audio, golden_ids, read_wav_int16, status_kb

try:
    import numpy as np
except ImportError:  # the numpy cases skip
    np = None

GREEDY = {"max_tokens": 12, "loop_guard_repeats": 0}
needs_numpy = pytest.mark.skipif(np is None, reason="numpy is not installed")


def test_integers_that_do_not_fit_a_c_int_raise_instead_of_wrapping(tiny_model):
    samples = [0.0] * 16_000
    # ctypes would pass 2**32 + 16000 as 16000: a silent 16 kHz.
    for rate in (2 ** 32 + 16_000, 2 ** 31, -(2 ** 31) - 1, 10 ** 30):
        with pytest.raises(earshot.InvalidArgumentError, match="sample_rate"):
            tiny_model.transcribe(samples, sample_rate=rate)
    for rate in (16_000.0, "16000", True, None):
        with pytest.raises(earshot.InvalidArgumentError, match="sample_rate"):
            tiny_model.transcribe(samples, sample_rate=rate)
    with pytest.raises(earshot.InvalidArgumentError, match="sample_rate"):
        tiny_model.transcribe(samples, sample_rate=999)   # fits, out of the library's range
    for threads in (2 ** 32 + 2, 0, 100_000, -1):
        with pytest.raises(earshot.InvalidArgumentError, match="threads"):
            earshot.set_threads(threads)
    # Options travel as JSON: huge values are named with the allowed range, never truncated.
    for tokens in (0, 10 ** 12, 2 ** 63 - 1, 2 ** 64 + 5):
        with pytest.raises(earshot.InvalidArgumentError, match=r"max_tokens.*1\.\.\.1000000"):
            tiny_model.transcribe(audio("short"), max_tokens=tokens)
    with pytest.raises(earshot.InvalidArgumentError, match="loop_guard_repeats"):
        tiny_model.transcribe(audio("short"), loop_guard_repeats=-1)
    assert tiny_model.transcribe(audio("short"), **GREEDY).token_ids == golden_ids("short")


def test_nul_in_a_file_name_raises_value_error_like_open(tiny_model, tmp_path):
    shutil.copy(audio("short"), tmp_path / "short.wav")
    cut = str(tmp_path / "short.wav") + "\0ignored"   # C would stop at the NUL and open short.wav
    with pytest.raises(ValueError, match="null"):
        open(cut)
    with pytest.raises(ValueError, match="null"):
        tiny_model.transcribe(cut)
    with pytest.raises(ValueError, match="null"):
        earshot.Model(str(TINY_MODEL) + "\0x")
    with pytest.raises(ValueError, match="null"):
        earshot.Model(os.fsencode(TINY_MODEL) + b"\0x")


def test_a_file_name_that_is_not_utf8_is_opened_by_its_exact_bytes(tiny_model, tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9-\xff.wav"   # Latin-1 and a stray byte: not UTF-8
    with open(raw, "wb") as f, open(audio("short"), "rb") as src:
        f.write(src.read())
    name = os.fsdecode(raw)   # the str os.listdir gives for it (surrogateescape)
    assert name in [os.path.join(tmp_path, n) for n in os.listdir(tmp_path)]
    expected = golden_ids("short")
    assert tiny_model.transcribe(name, **GREEDY).token_ids == expected
    import pathlib
    assert tiny_model.transcribe(pathlib.Path(name), **GREEDY).token_ids == expected
    # A UTF-8 look-alike (what replacing the bad bytes would give) does not exist: not found.
    with pytest.raises(earshot.AudioError, match="not found"):
        tiny_model.transcribe(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9-\xfe.wav"))
    # Decoding errors behind such a name are typed errors too.
    bad = os.fsencode(tmp_path) + b"/\xff.wav"
    with open(bad, "wb") as f:
        f.write(b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff" + bytes(64))
    with pytest.raises(earshot.AudioError):
        tiny_model.transcribe(os.fsdecode(bad))
    os.mkdir(os.fsencode(tmp_path) + b"/dir\xff.wav")
    with pytest.raises(earshot.AudioError, match="is a directory"):
        tiny_model.transcribe(os.fsdecode(os.fsencode(tmp_path) + b"/dir\xff.wav"))


def test_a_model_directory_named_in_bytes_loads(tmp_path):
    d = os.fsencode(tmp_path) + b"/model-\xe9"
    shutil.copytree(os.fsencode(TINY_MODEL), d)
    with pytest.raises(earshot.ModelError):
        earshot.Model(b"/no/such/\xff")
    # Loading a non-UTF-8 model directory is the model loader's concern; what is required here is
    # a typed error or a model, never a UnicodeEncodeError from the binding.
    try:
        with earshot.Model(os.fsdecode(d)) as m:
            assert m.family == "qwen3_asr"
    except earshot.ModelError:
        pass


@needs_numpy
def test_a_zero_stride_giant_array_is_refused_before_any_copy(tiny_model):
    anon = status_kb("RssAnon")
    giant = np.broadcast_to(np.float32(0.1), (10 ** 9,))   # 4 bytes of storage, 10**9 samples
    with pytest.raises(earshot.InvalidArgumentError, match="MAX_SAMPLES"):
        tiny_model.transcribe(giant)
    with pytest.raises(earshot.InvalidArgumentError, match="MAX_SAMPLES"):
        tiny_model.transcribe(np.broadcast_to(np.int16(7), (10 ** 9, 2)))
    with pytest.raises(earshot.InvalidArgumentError, match="channels"):
        tiny_model.transcribe(np.broadcast_to(np.int16(7), (16_000, 100_000)))
    with pytest.raises(earshot.InvalidArgumentError, match="MAX_SAMPLES"):
        tiny_model.transcribe(range(earshot.MAX_SAMPLES + 1))
    assert status_kb("RssAnon") - anon < 64 * 1024, "something was copied before the refusal"
    # Just under the limit, a zero-stride view is fine (one float32 copy, then transcribed).
    small = np.broadcast_to(np.float32(0.0), (16_000,))
    assert tiny_model.transcribe(small, max_tokens=2).audio_tokens == 13


@needs_numpy
def test_conversion_makes_no_float64_temporary():
    n = 4_000_000
    pcm = np.arange(n, dtype=np.int32).astype(np.int16)
    stereo = np.stack([pcm, pcm], axis=1)
    tracemalloc.start()
    try:
        for a in (pcm, stereo, pcm.astype(np.float64)):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            _, count, kept = _audio.float32_samples(a)
            peak = tracemalloc.get_traced_memory()[1] - before
            assert count == n and kept.dtype == np.float32
            # The float32 result is 4 bytes a sample; a float64 temporary would add 8 more.
            assert peak < 6 * n, f"{a.dtype} {a.shape}: peak {peak / n:.1f} bytes a sample"
            del kept
    finally:
        tracemalloc.stop()


@needs_numpy
def test_integer_and_multichannel_arrays_are_scaled_exactly():
    ints, _ = read_wav_int16(audio("short"))
    pcm = np.array(ints, dtype=np.int16)
    expected = pcm.astype(np.float32) / 32768
    for a in (pcm, np.stack([pcm, pcm], axis=1)):
        _, _, got = _audio.float32_samples(a)
        assert np.array_equal(got, expected)
    unsigned = (pcm.astype(np.int32) + 32768).astype(np.uint16)
    _, _, got = _audio.float32_samples(unsigned)
    assert np.allclose(got, expected, atol=1e-6)
    _, count, kept = _audio.float32_samples(array.array("f", [0.5] * 10))
    assert count == 10
