#!/usr/bin/env python3
"""Forced alignment, official `qwen-asr` against Earshot, same clip, checkpoint, threads and machine.

  bench/compare-official-aligner.py --checkpoint DIR --venv VENV [--earshot BIN] [--threads 2]
      [--runs 3] [--seconds 30] [--precisions native,q8] [--rounds 2] [--json FILE]

  DIR: a Qwen3-ForcedAligner directory (random weights at the published shape:
  `earshot make-random-checkpoint --shape aligner-0.6b DIR`). VENV: a virtualenv with `qwen-asr`
  and torch (bench/compare-official.sh --venv DIR --keep-venv makes one).

Each round runs the official side and then each Earshot precision, one process each, so every
process's peak RSS (VmHWM) is its own; rounds alternate the order. Per process: one warm-up
alignment, then --runs timed ones of the whole public call (official: `Qwen3ForcedAligner.align(
audio=(samples, 16000), text, language="English")` in float32, features + encoder + the forward
pass + repair; Earshot: `earshot align --runs K --json`, the same steps). Medians are reported, with
each side's ratio to the official float32 median of the same round.

`official` (internal): the official process; prints one JSON line.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_official import make_clip, official_view, proc_status, read_wav_mono_f32  # noqa: E402

# About 2.5 words a second of ordinary English: 75 words for 30 s.
TEXT = (
    "The committee met on Tuesday morning to review the budget for the coming year and the plans "
    "for the new library building. After a long discussion about costs, schedules and the needs of "
    "the neighbourhood, the members agreed to start construction in the spring, to hire a local "
    "architect, and to hold two public meetings before the final design is chosen. The chair "
    "thanked everyone for their patience and closed the meeting at noon."
)


def official(a):
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    from qwen_asr import Qwen3ForcedAligner

    samples, rate = read_wav_mono_f32(a.audio)
    audio = np.asarray(samples, dtype=np.float32)
    load_dir, _ = official_view(a.checkpoint, a.overlay_dir)
    t = time.perf_counter()
    aligner = Qwen3ForcedAligner.from_pretrained(load_dir, dtype=torch.float32, device_map="cpu")
    load_ms = (time.perf_counter() - t) * 1000
    times, words = [], 0
    for i in range(a.runs + 1):
        t = time.perf_counter()
        with torch.inference_mode():
            out = aligner.align(audio=(audio, rate), text=a.text, language="English")
        if i > 0:
            times.append((time.perf_counter() - t) * 1000)
        first = out[0] if isinstance(out, list) and out else out   # one result per clip
        words = len(getattr(first, "items", first))
    print(json.dumps({"side": "official float32", "load_ms": load_ms, "runs_ms": times, "words": words,
                      "peak_rss_bytes": proc_status("VmHWM")}))


def run_earshot(a, precision, clip):
    # A side is a precision applied to --checkpoint at load, or NAME=FILE.gguf (a converted file, as stored).
    model = a.checkpoint
    if "=" in precision:
        precision, model = precision.split("=", 1)
    cmd = [a.earshot, "align", "--model", model, clip, "--text", TEXT, "--language", "English",
           "--threads", str(a.threads), "--runs", str(a.runs), "--json"]
    if precision not in ("native",) and model == a.checkpoint:
        cmd += ["--precision", precision]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return {"side": f"earshot {precision}", "load_ms": r["timings"]["load_ms"], "runs_ms": r["runs_ms"],
            "words": len(r["words"]), "peak_rss_bytes": r["peak_rss_bytes"],
            "encode_ms": r["timings"]["encode_ms"], "prefill_ms": r["timings"]["prefill_ms"],
            "prompt_tokens": r["prompt_tokens"]}


def run_official(a, clip, workdir):
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    cmd = [os.path.join(a.venv, "bin", "python"), os.path.abspath(__file__), "official", "--checkpoint", a.checkpoint,
           "--audio", clip, "--threads", str(a.threads), "--runs", str(a.runs), "--overlay-dir", workdir,
           "--text", TEXT]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", nargs="?", default="compare", choices=["compare", "official"])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--venv")
    ap.add_argument("--earshot", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "earshot"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--precisions", default="native,q8",
                    help="Earshot sides: precisions applied to --checkpoint, or NAME=FILE.gguf for converted files")
    ap.add_argument("--audio")
    ap.add_argument("--text", default=TEXT)
    ap.add_argument("--overlay-dir")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.cmd == "official":
        return official(a)
    if not a.venv:
        ap.error("--venv is required")
    workdir = os.path.join(os.environ.get("TMPDIR", "/tmp"), "earshot-aligner-compare")
    os.makedirs(workdir, exist_ok=True)
    clip = a.audio or os.path.join(workdir, f"clip-{int(a.seconds)}s.wav")
    if not a.audio:
        make_clip(clip, a.seconds)
    rows = []
    for r in range(a.rounds):
        sides = ["official"] + a.precisions.split(",")
        if r % 2:
            sides = sides[1:] + sides[:1]
        for side in sides:
            res = run_official(a, clip, workdir) if side == "official" else run_earshot(a, side, clip)
            res["round"] = r + 1
            res["median_ms"] = statistics.median(res["runs_ms"])
            print(json.dumps(res), file=sys.stderr)
            rows.append(res)
    print(f"Clip {a.seconds:.0f} s, {len(TEXT.split())} words, {a.threads} threads, {a.runs} timed runs per process "
          f"after one warm-up, {a.rounds} rounds (order alternated).\n")
    print("| round | runtime / precision | median align (ms) | vs official float32 | peak RSS (GB) | words |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        base = next(x["median_ms"] for x in rows if x["round"] == row["round"] and x["side"].startswith("official"))
        print(f"| {row['round']} | {row['side']} | {row['median_ms']:,.0f} | {row['median_ms'] / base:.2f}x | "
              f"{row['peak_rss_bytes'] / 1e9:.2f} | {row['words']} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
