#!/usr/bin/env python3
"""Earshot's Whisper pipeline against faster-whisper's defaults, file by file, in the same run.

faster-whisper 1.2.1 runs `WhisperModel(dir, device="cpu", compute_type=..., cpu_threads=...)
.transcribe(path)` with every other argument at its default (beam 5, best_of 5, temperature
fallback 0.0 ... 1.0, compression ratio 2.4, log-prob -1, no-speech 0.6, conditioning on previous
text, timestamps). Earshot runs `earshot transcribe --json` with its defaults (the same pipeline).
A file matches when the texts are equal and every segment's start and end are equal (to 10 ms).

    ~/.cache/earshot/fw-venv/bin/python bench/whisper-pipeline-parity.py --models tiny.en,base
        [--earshot BIN] [--threads 2] [--compute-type float32] [--word-timestamps]
        [--out FILE.json] [--markdown-out FILE.md] [-- earshot flags]
(the venv is the one bench/compare-faster-whisper.sh makes: faster-whisper 1.2.1, pinned).

--word-timestamps: both engines give words (faster-whisper `word_timestamps=True`, Earshot
`--word-timestamps`); the report adds, over the words of files whose text matches, the distribution
of |start difference| and |end difference| and how many words are within 20 ms.

Audio: the bundled speech set (Tests/Fixtures/speech/h01-h10), the Qwen3-ASR fixture recordings
(fox.wav, long.wav) and one long file made here (the ten sentences with 2 s of silence between
them, then again: about 80 s, three or more windows, so seeking and previous-text prompts count).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_pcm16(path):
    with wave.open(path, "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return w.readframes(w.getnframes())


def make_long(files, out):
    silence = b"\x00\x00" * 32000
    data = b""
    for _ in range(2):
        for f in files:
            data += read_pcm16(f) + silence
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(data)


def faster_whisper_runs(model_dir, files, compute_type, threads, words=False):
    from faster_whisper import WhisperModel
    model = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads)
    out = {}
    for f in files:
        segments, info = model.transcribe(f, word_timestamps=words)
        segs = [{"start": s.start, "end": s.end, "text": s.text.strip(), "tokens": list(s.tokens),
                 "avg_logprob": s.avg_logprob, "temperature": s.temperature,
                 "compression_ratio": s.compression_ratio, "no_speech_prob": s.no_speech_prob,
                 "words": [{"word": w.word, "start": float(w.start), "end": float(w.end),
                            "probability": float(w.probability)}
                           for w in (s.words or [])]} for s in segments]
        out[f] = {"text": "".join(s["text"] if i == 0 else " " + s["text"] for i, s in enumerate(segs)).strip(),
                  "segments": segs, "language": info.language}
    return out


def earshot_runs(binary, model_dir, files, threads, extra):
    cmd = [binary, "transcribe", "--json", "--model", model_dir, "--threads", str(threads)] + extra + files
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"earshot failed ({proc.returncode}): {proc.stderr}")
    out = {}
    for line, f in zip(proc.stdout.strip().splitlines(), files):
        r = json.loads(line)
        out[f] = {"text": r["text"], "segments": r.get("segments", [])}
    return out


def compare(fw, es):
    same_text = fw["text"] == es["text"]
    a = [(round(s["start"], 2), round(s["end"], 2)) for s in fw["segments"]]
    b = [(round(s["start"], 2), round(s["end"], 2)) for s in es["segments"]]
    return same_text, a == b


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="tiny.en,base")
    p.add_argument("--cache", default=os.environ.get("EARSHOT_WHISPER_CACHE", os.path.expanduser("~/.cache/earshot/whisper")))
    p.add_argument("--earshot", default=os.path.join(ROOT, ".build-release/release/earshot"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compute-type", default="float32")
    p.add_argument("--word-timestamps", action="store_true")
    p.add_argument("--out")
    p.add_argument("--markdown-out")
    p.add_argument("extra", nargs="*", help="flags passed to earshot transcribe (after --)")
    args = p.parse_args()

    speech = [os.path.join(ROOT, "Tests/Fixtures/speech", f"h{i:02d}.wav") for i in range(1, 11)]
    recordings = [os.path.join(ROOT, "Tests/Fixtures/qwen3-asr-tiny/audio", n) for n in ("fox.wav", "long.wav")]
    tmp = tempfile.mkdtemp(prefix="earshot-parity-")
    long_file = os.path.join(tmp, "speech-set-twice-with-silence.wav")
    make_long(speech, long_file)
    files = speech + recordings + [long_file]

    report = {"compute_type": args.compute_type, "threads": args.threads, "models": {}}
    lines = []
    for name in args.models.split(","):
        model_dir = os.path.join(args.cache, name)
        fw = faster_whisper_runs(model_dir, files, args.compute_type, args.threads, args.word_timestamps)
        extra = args.extra + (["--word-timestamps"] if args.word_timestamps else [])
        es = earshot_runs(args.earshot, model_dir, files, args.threads, extra)
        rows = []
        for f in files:
            same_text, same_bounds = compare(fw[f], es[f])
            rows.append({"file": os.path.basename(f), "same_text": same_text, "same_segments": same_bounds,
                         "faster_whisper": fw[f], "earshot": es[f]})
        matched = sum(r["same_text"] and r["same_segments"] for r in rows)
        report["models"][name] = {"matched": matched, "files": len(rows), "rows": rows}
        lines.append(f"### {name} ({args.compute_type}, {args.threads} threads): {matched} of {len(rows)} files equal "
                     "(text and segment boundaries)\n")
        lines.append("| file | text | segments | faster-whisper | Earshot |")
        lines.append("|---|---|---|---|---|")
        for r in rows:
            fwt, est = r["faster_whisper"]["text"], r["earshot"]["text"]
            differ = not (r["same_text"] and r["same_segments"])
            lines.append(f"| {r['file']} | {'=' if r['same_text'] else 'differs'} | "
                         f"{'=' if r['same_segments'] else 'differs'} | {fwt if differ else ''} | {est if differ else ''} |")
        lines.append("")
        if args.word_timestamps:
            diffs, texts_differ = [], 0
            for r in rows:
                a = [w for s in r["faster_whisper"]["segments"] for w in s["words"]]
                b = [w for s in r["earshot"]["segments"] for w in s.get("words", [])]
                if [w["word"] for w in a] != [w["word"] for w in b]:
                    texts_differ += 1
                    continue
                for x, y in zip(a, b):
                    diffs.append(float(abs(x["start"] - y["start"])))
                    diffs.append(float(abs(x["end"] - y["end"])))
            diffs.sort()
            if diffs:
                within = int(sum(d <= 0.020 + 1e-9 for d in diffs))
                q = lambda p: diffs[min(len(diffs) - 1, int(p * len(diffs)))]
                lines.append(f"Word timestamps ({name}): {len(diffs) // 2} words in files with the same words "
                             f"({texts_differ} files differ in words); |start/end difference| median {q(0.5) * 1000:.0f} ms, "
                             f"p90 {q(0.9) * 1000:.0f} ms, max {diffs[-1] * 1000:.0f} ms; "
                             f"{within} of {len(diffs)} edges ({100 * within / len(diffs):.1f}%) within 20 ms.\n")
                report["models"][name]["word_edges"] = {"count": len(diffs), "within_20ms": within,
                                                        "median_s": q(0.5), "p90_s": q(0.9), "max_s": diffs[-1]}
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    if args.markdown_out:
        with open(args.markdown_out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
