"""The forced aligner from Python: the official items, transcription timed by it, errors, memory."""

from __future__ import annotations

import json

import pytest

import earshot
from conftest import REPO, TINY_MODEL, audio, open_fds, slope, status_kb

ALIGNER = REPO / "Tests" / "Fixtures" / "qwen3-forced-aligner-tiny"
ALIGNER_MODEL = ALIGNER / "model"


def golden(case: str) -> dict:
    return json.loads((ALIGNER / "golden" / f"{case}.json").read_text())


@pytest.mark.parametrize("case", ["en_sentence", "en_punct_numbers", "zh_sentence", "en_repair", "long", "no_words"])
def test_words_equal_the_official_aligner(case):
    g = golden(case)
    with earshot.Aligner(ALIGNER_MODEL) as aligner:
        r = aligner.align(str(ALIGNER / g["audio"]), g["text"], language=g["language"])
    assert [(w["text"], w["start"], w["end"]) for w in r.words] == \
        [(i["text"], i["start_time"], i["end_time"]) for i in g["items"]]


def test_samples_align_like_the_file():
    from conftest import read_wav_int16
    ints, rate = read_wav_int16(str(ALIGNER / "audio" / "fox.wav"))
    text = "The quick brown fox jumps over the lazy dog."
    with earshot.Aligner(ALIGNER_MODEL) as aligner:
        from_file = aligner.align(str(ALIGNER / "audio" / "fox.wav"), text, language="English").words
        from_samples = aligner.align([x / 32768.0 for x in ints], text, language="English", sample_rate=rate).words
    assert from_samples == from_file and len(from_file) == 9


def test_transcription_timed_by_the_aligner():
    with earshot.Model(TINY_MODEL, aligner=ALIGNER_MODEL) as m:
        plain = m.transcribe(audio("fox"), max_tokens=12)
        timed = m.transcribe(audio("fox"), max_tokens=12, timestamps="word")
        segments = m.transcribe(audio("fox"), max_tokens=12, timestamps="segment")
    words = [w for s in timed.segments for w in s["words"]]
    assert timed.text == plain.text and words
    assert "".join(w["word"] for w in words) == timed.text
    assert all(0 <= w["start"] <= w["end"] <= timed.audio_seconds for w in words)
    assert [s["text"] for s in segments.segments] == [s["text"] for s in timed.segments]
    assert all("words" not in s or s["words"] is None for s in segments.segments)


def test_bad_uses_are_refused_by_name():
    with pytest.raises(earshot.ModelError, match="not a Qwen3-ForcedAligner"):
        earshot.Aligner(TINY_MODEL)
    with earshot.Model(TINY_MODEL) as m:
        with pytest.raises(earshot.InvalidArgumentError, match="aligner=PATH"):
            m.transcribe(audio("fox"), timestamps="word")
        with pytest.raises(earshot.InvalidArgumentError, match="'word' or 'segment'"):
            m.transcribe(audio("fox"), timestamps="words")
    with earshot.Aligner(ALIGNER_MODEL) as aligner:
        with pytest.raises(earshot.InvalidArgumentError, match="nagisa"):
            aligner.align(audio("fox"), "こんにちは", language="Japanese")
        with pytest.raises(earshot.EarshotError, match="1000 words"):
            aligner.align(audio("fox"), " ".join(["word"] * 1000))
        assert aligner.align(audio("fox"), "...").words == []


def test_align_and_close_100_times_is_flat():
    text = "The quick brown fox jumps over the lazy dog."
    with earshot.Aligner(ALIGNER_MODEL) as a:
        first = a.align(audio("fox"), text).words   # warm the threads and pools once
    fds_start = open_fds()
    mapped_start = earshot.memory_report()["mapped"]
    anon = []
    for _ in range(100):
        with earshot.Aligner(ALIGNER_MODEL) as a:
            assert a.align(audio("fox"), text).words == first
        anon.append(status_kb("RssAnon"))
    trend = slope(anon[20:])
    print(f"\naligner RssAnon {anon[0]} -> {anon[-1]} kB over 100 loops; slope after warm-up {trend:+.3f} kB/loop")
    assert trend <= 4.0
    assert open_fds() == fds_start
    assert earshot.memory_report()["mapped"] == mapped_start
