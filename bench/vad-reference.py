#!/usr/bin/env python3
"""Writes Tests/Fixtures/vad/silero-reference.json: faster-whisper 1.2.1's Silero VAD v6 speech
probabilities and `get_speech_timestamps` ranges for the bundled recordings, the recordings joined
with silences between them, and ten minutes of silence and faint noise. Earshot's VadTests compare
against it (ranges within one 512-sample window; probabilities reported).

Run with the faster-whisper virtualenv (pip install faster-whisper==1.2.1, which brings onnxruntime):
    ~/.cache/earshot/fw-venv/bin/python bench/vad-reference.py [--whisper tiny.en,base]

--whisper also stores, per model (from ~/.cache/earshot/whisper/<model>, float32, 2 threads),
faster-whisper's `transcribe(joined, vad_filter=True, language="en")` segments: `earshot bench vad
--whisper-model` checks Earshot's --vad transcript of the same audio against them.

The joined and noise signals are built here and in the tests by the same recipe (`cases` below);
the noise is a 64-bit LCG whose top 24 bits give a uniform float, so both sides get equal samples.
"""
import hashlib, json, os, sys, wave

import numpy as np
from faster_whisper import vad as fwvad
from faster_whisper.version import __version__ as fw_version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = [f"Tests/Fixtures/speech/h{i:02d}.wav" for i in range(1, 11)] + [
    "Tests/Fixtures/qwen3-asr-tiny/audio/fox.wav", "Tests/Fixtures/qwen3-asr-tiny/audio/long.wav"]
GAPS = [0.5, 1.0, 2.5, 4.0]          # seconds of zeros after file i: GAPS[i % 4]
RATE = 16000


def read_wav(path):
    with wave.open(os.path.join(ROOT, path)) as w:
        assert w.getnchannels() == 1 and w.getframerate() == RATE and w.getsampwidth() == 2, path
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def lcg_noise(count, amplitude, seed):
    """x <- x * 6364136223846793005 + 1442695040888963407 (mod 2^64); u = top 24 bits / 2^24;
    sample = float32((2u - 1) * amplitude)."""
    out = np.empty(count, dtype=np.float32)
    x = seed
    mask = (1 << 64) - 1
    for i in range(count):
        x = (x * 6364136223846793005 + 1442695040888963407) & mask
        u = (x >> 40) / float(1 << 24)
        out[i] = np.float32((2.0 * u - 1.0) * amplitude)
    return out


def cases():
    audio = {p: read_wav(p) for p in FILES}
    for p in FILES:
        yield os.path.basename(p), {"file": p}, audio[p], {}
    parts = []
    for i, p in enumerate(FILES):
        parts += [audio[p], np.zeros(int(GAPS[i % 4] * RATE), dtype=np.float32)]
    joined = np.concatenate(parts)
    recipe = {"join": FILES, "gaps_s": GAPS}
    yield "joined", recipe, joined, {}
    # The split rules for over-long speech, and the minimum speech length.
    yield "joined-max-speech-6s", recipe, joined, {"max_speech_duration_s": 6.0, "min_speech_duration_ms": 250,
                                                  "min_silence_duration_ms": 500, "speech_pad_ms": 100}
    silence = np.zeros(300 * RATE, dtype=np.float32)
    noise = lcg_noise(300 * RATE, 0.003, 20261205)
    yield "silence-noise-10min", {"zeros_s": 300, "noise_s": 300, "amplitude": 0.003, "seed": 20261205}, \
        np.concatenate([silence, noise]), {}


def main():
    model = fwvad.get_vad_model()
    models = []
    if "--whisper" in sys.argv:
        models = sys.argv[sys.argv.index("--whisper") + 1].split(",")
    out = {"faster_whisper": fw_version, "model": "faster_whisper/assets/silero_vad_v6.onnx",
           "model_sha256": hashlib.sha256(open(os.path.join(os.path.dirname(fwvad.__file__), "assets",
                                                            "silero_vad_v6.onnx"), "rb").read()).hexdigest(),
           "window": 512, "cases": []}
    for name, recipe, samples, options in cases():
        padded = np.pad(samples, (0, 512 - samples.shape[0] % 512))
        probs = model(padded.copy())
        ranges = fwvad.get_speech_timestamps(samples.copy(), fwvad.VadOptions(**options))
        case = {"name": name, "recipe": recipe, "samples": int(samples.shape[0]), "options": options,
                "ranges": [[r["start"], r["end"]] for r in ranges],
                "max_probability": float(np.max(probs))}
        if samples.shape[0] <= 120 * RATE:
            case["probabilities"] = [round(float(p), 6) for p in probs.reshape(-1)]
        if name == "joined" and models:
            from faster_whisper import WhisperModel
            case["transcripts"] = {}
            for m in models:
                model_dir = os.path.expanduser(f"~/.cache/earshot/whisper/{m}")
                wm = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=2)
                segments, _ = wm.transcribe(samples.copy(), vad_filter=True, language="en")
                case["transcripts"][m] = [[s.start, s.end, s.text] for s in segments]
        out["cases"].append(case)
        print(f"{name}: {len(ranges)} ranges, {probs.size} windows, max p {case['max_probability']:.3f}", file=sys.stderr)
    dst = os.path.join(ROOT, "Tests/Fixtures/vad/silero-reference.json")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
