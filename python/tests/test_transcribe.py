"""Transcription through the binding matches the official implementation's goldens."""

from __future__ import annotations

import array
import gc
import json

import pytest

import earshot
from conftest import SPEECH, TINY, TINY_MODEL, audio, golden_ids, read_wav_int16

try:
    import numpy as np
except ImportError:  # the numpy cases skip
    np = None

GREEDY = {"max_tokens": 12, "loop_guard_repeats": 0}


@pytest.mark.parametrize("case", ["fox", "short"])
def test_file_matches_official_greedy_ids(tiny_model, case):
    r = tiny_model.transcribe(audio(case), **GREEDY)
    assert r.token_ids == golden_ids(case)
    assert r.audio_tokens == {"fox": 58, "short": 4}[case]
    assert r.timings["ttft_ms"] > 0 and r.timings["total_ms"] >= r.timings["ttft_ms"]


def test_forced_language_streams_the_text_on_the_calling_thread(tiny_model):
    import threading
    pieces, threads = [], set()

    def on_text(text):
        pieces.append(text)
        threads.add(threading.get_ident())

    r = tiny_model.transcribe(audio("fox"), language="english", on_text=on_text, **GREEDY)
    assert r.token_ids == golden_ids("fox_lang")
    assert r.language == "English"
    assert len(pieces) == 12 and r.text == "".join(pieces).strip()
    assert threads == {threading.get_ident()}


def test_samples_in_every_form_give_the_file_result(tiny_model):
    ints, rate = read_wav_int16(audio("fox"))
    floats = [v / 32768 for v in ints]
    expected = golden_ids("fox")
    forms = [floats, array.array("f", floats)]
    if np is not None:
        forms += [np.array(ints, dtype=np.int16), np.array(floats, dtype=np.float64),
                  np.stack([np.array(floats, dtype=np.float32)] * 2, axis=1)]   # (frames, channels)
    with tiny_model.session() as s:
        for form in forms:
            r = s.transcribe(form, sample_rate=rate, **GREEDY)
            assert r.token_ids == expected, type(form)


def test_other_sample_rates_are_resampled(tiny_model):
    r = tiny_model.transcribe([0.1, -0.1] * 24_000, sample_rate=48_000, max_tokens=2)
    assert abs(r.audio_seconds - 1.0) < 1e-6
    assert r.audio_tokens == 13   # 1 s at 16 kHz: 100 mel frames -> 13 audio tokens


def test_reset_keeps_results_identical(tiny_model):
    with tiny_model.session() as s:
        first = s.transcribe(audio("short"), **GREEDY).token_ids
        for _ in range(3):
            s.reset()
            assert s.transcribe(audio("short"), **GREEDY).token_ids == first


def test_on_text_returning_true_cancels_and_the_session_goes_on(tiny_model):
    with tiny_model.session() as s:
        seen = []
        with pytest.raises(earshot.CancelledError):
            s.transcribe(audio("fox"), language="English", on_text=lambda t: seen.append(t) or len(seen) == 3, **GREEDY)
        assert len(seen) == 3
        assert s.transcribe(audio("fox"), **GREEDY).token_ids == golden_ids("fox")


def test_an_exception_in_on_text_propagates(tiny_model):
    def boom(_):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        tiny_model.transcribe(audio("fox"), language="English", on_text=boom, **GREEDY)
    assert tiny_model.transcribe(audio("short"), **GREEDY).token_ids == golden_ids("short")


def test_model_info_and_one_shot_transcribe_free_everything():
    before = earshot.memory_report()
    r = earshot.transcribe(audio("short"), model=TINY_MODEL, **GREEDY)
    assert r.token_ids == golden_ids("short")
    after = earshot.memory_report()
    assert after["live_models"] == before["live_models"] and after["live_sessions"] == before["live_sessions"]
    with earshot.Model(TINY_MODEL, precision="q8") as m:
        assert m.family == "qwen3_asr" and "English" in m.languages
        assert m.mapped_bytes > 0
        assert len(m.transcribe(audio("short"), max_tokens=3).token_ids) <= 3
    assert earshot.memory_report()["live_models"] == before["live_models"]


def test_result_json_carries_timings_and_segments(tiny_model):
    r = tiny_model.transcribe(audio("short"), **GREEDY)
    for key in ("ttft_ms", "encode_ms", "prefill_ms", "decode_ms", "total_ms", "tokens_per_second", "rtf"):
        assert key in r.timings
    assert json.dumps(r.raw)   # plain JSON types
    assert r.raw["token_ids"] == r.token_ids


def test_vad_drops_silence_and_keeps_the_timeline(tiny_model):
    vad_model = str(TINY.parent / "vad" / "silero_vad_v6.onnx")
    silence = [0.0] * 96_000   # 6 s
    r = tiny_model.transcribe(silence, vad=True, vad_model=vad_model, **GREEDY)
    assert r.token_ids == [] and r.text == "" and r.audio_tokens == 0
    assert abs(r.audio_seconds - 6.0) < 1e-9 and r.timings["vad_ms"] > 0
    # Speech after 6 s of silence: only the speech is transcribed (fewer audio tokens than the clip).
    pcm, _ = read_wav_int16(str(TINY / "audio" / "short.wav"))
    clip = silence + [x / 32768 for x in pcm]
    speech = tiny_model.transcribe(clip, vad=True, vad_model=vad_model, **GREEDY)
    whole = tiny_model.transcribe(clip, **GREEDY)
    assert 0 < speech.audio_tokens < whole.audio_tokens
    with pytest.raises(earshot.EarshotError, match="vad_model needs"):
        tiny_model.transcribe(silence, vad_model=vad_model, **GREEDY)
    with pytest.raises(earshot.EarshotError, match="VAD model"):
        tiny_model.transcribe(silence, vad=True, vad_model=vad_model + ".missing", **GREEDY)


def test_whisper_real_speech(require_whisper):
    expected = json.loads((SPEECH / "faster-whisper-reference.json").read_text())["models"]["tiny.en"]["float32"]
    with earshot.Model(require_whisper) as m:
        assert m.family == "whisper" and m.languages == ["English"]
        for name in ("h01.wav", "h03.wav"):
            r = m.transcribe(str(SPEECH / name), language="en", greedy=True)
            assert r.text.strip() == expected[name].strip()
            assert r.language == "en" or r.language == "English"
    gc.collect()


def test_whisper_default_pipeline_words_and_options(require_whisper):
    """faster-whisper's default pipeline through the C ABI: its text and words (fixture from
    faster-whisper 1.2.1), greedy on request, typed errors for a bad task or option."""
    ref = json.loads((SPEECH / "faster-whisper-default-reference.json").read_text())
    text = ref["models"]["tiny.en"]["float32"]["h01.wav"]
    words = ref["words"]["tiny.en"]["float32"]["h01.wav"]
    with earshot.Model(require_whisper) as m:
        r = m.transcribe(str(SPEECH / "h01.wav"), word_timestamps=True)
        assert r.text == text
        got = [w for s in r.segments for w in s["words"]]
        assert [w["word"] for w in got] == [w["word"] for w in words]
        assert all(abs(a["start"] - b["start"]) < 0.005 and abs(a["end"] - b["end"]) < 0.005 for a, b in zip(got, words))
        assert all(s.get("temperature") == 0 for s in r.segments)
        g = m.transcribe(str(SPEECH / "h01.wav"), greedy=True)
        assert g.prompt_tokens == 2 and g.text == ref["models"]["tiny.en"]["float32"]["h01.wav"]
        with pytest.raises(earshot.EarshotError):
            m.transcribe(str(SPEECH / "h01.wav"), task="translate")      # English-only model
        with pytest.raises(earshot.EarshotError):
            m.transcribe(str(SPEECH / "h01.wav"), beam_size=0)
    gc.collect()
