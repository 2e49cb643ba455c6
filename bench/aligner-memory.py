#!/usr/bin/env python3
"""Transcription timed by the forced aligner, alternating with plain transcription, on one loaded
Qwen3-ASR model with an aligner: anonymous RSS and open descriptors after every clip.

  EARSHOT_LIBRARY=PATH/libearshot.so bench/aligner-memory.py --model ASR --aligner ALIGNER
      [--precision q8] [--clips 100] [--audio CLIP.wav] [--max-tokens 32] [--json FILE]

Even clips: `model.transcribe(clip, timestamps="word")` (transcribe, then align the transcript);
odd clips: plain `model.transcribe(clip)`. Reports anonymous RSS first/last, the least-squares
slope after a 20% warm-up, the growth after warm-up, and the descriptor counts; exits 1 when the
slope exceeds --max-slope-kb per clip or a descriptor leaked.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import earshot  # noqa: E402


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def slope(values):
    n = len(values)
    mx, my = (n - 1) / 2, sum(values) / n
    den = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / den if den else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--aligner", required=True)
    ap.add_argument("--precision")
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--audio", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures",
                                                    "qwen3-asr-tiny", "audio", "fox.wav"))
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--max-slope-kb", type=float, default=4.0)
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    with earshot.Model(a.model, precision=a.precision, aligner=a.aligner) as model:
        for i in range(a.clips):
            timed = i % 2 == 0
            r = model.transcribe(a.audio, max_tokens=a.max_tokens, timestamps="word" if timed else None)
            words = sum(len(s.get("words") or []) for s in r.segments) if timed else 0
            rows.append({"clip": i, "timed": timed, "words": words, "anon_kb": status_kb("RssAnon"),
                         "rss_kb": status_kb("VmRSS"), "fds": len(os.listdir("/proc/self/fd")),
                         "total_ms": r.timings.get("total_ms"), "align_ms": r.timings.get("align_ms")})
            print(json.dumps(rows[-1]), flush=True)
    anon = [r["anon_kb"] for r in rows]
    warm = len(anon) // 5
    trend, growth = slope(anon[warm:]), anon[-1] - anon[warm]
    fds = sorted({r["fds"] for r in rows})
    print(f"clips {len(rows)} ({sum(r['timed'] for r in rows)} timed); RssAnon {anon[0]} -> {anon[-1]} kB; "
          f"slope after warm-up {trend:+.3f} kB/clip, growth after warm-up {growth:+d} kB; fds {fds}; "
          f"peak RSS {status_kb('VmHWM') / 1024:.0f} MB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "slope_kb_per_clip": trend, "growth_after_warmup_kb": growth}, f, indent=1)
    sys.exit(0 if trend <= a.max_slope_kb and len(fds) == 1 else 1)


if __name__ == "__main__":
    main()
