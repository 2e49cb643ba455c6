#!/usr/bin/env python3
"""Driver for bench/compare-official.sh: the official Qwen3-ASR side and the report.

Subcommands
  make-clip OUT.wav            8 s, 16 kHz, mono, 16-bit PCM synthetic speech-like clip (stdlib only)
  official ...                 time the official `qwen-asr` package (transformers backend, CPU)
  report ...                   Markdown tables + JSON: official vs Earshot, ratios and goals

How the official side is measured (one process per shape and dtype, so VmHWM is that model's alone)
  * Model and processor are loaded with the package's own entry point,
    `qwen_asr.Qwen3ASRModel.from_pretrained(dir, dtype=..., device_map="cpu")`, and every request goes
    through its public `transcribe((samples, 16000))`: audio conditioning, the processor (log-mel +
    prompt), `generate`, decoding and output parsing -- exactly what a user of the package runs.
  * Threads: OMP/MKL env set by the shell script before Python starts, plus torch.set_num_threads(T).
  * Same token count on both sides: the thinker's generation config gets
    max_new_tokens = min_new_tokens = N, so transformers masks both EOS ids until N tokens exist
    (random weights would otherwise stop anywhere). The count actually generated is checked.
  * Timing uses forward hooks only (nothing is patched):
      t0            = just before transcribe() is called (request start)
      encoder       = pre/post forward hooks on thinker.audio_tower (the audio encoder forward)
      step k end    = post forward hook on the thinker (the LLM forward; step 1 is the prefill, which
                      also runs the audio tower inside it)
      TTFT          = end of step 1 - t0  (features + encoder + prefill; the greedy pick of token 1
                      is an argmax over one row, microseconds)
      features      = start of step 1 - t0 (audio conditioning, log-mel, prompt, tokenizer)
      prefill (LLM) = end of step 1 - end of the encoder
      decode        = (end of step N - end of step 1) / (N - 1)  ms/token; tokens/s = 1000 / that
    Step N produces token N (N forwards for N tokens), so the N-1 decode forwards are exactly the
    steps after the first.
  * 1 warm-up request (default) and K timed requests; min/median/max over the K.
  * Peak RSS = VmHWM from /proc/self/status after the timed requests (includes loading, which
    converts the bf16 checkpoint to the requested dtype).
"""

import argparse
import json
import math
import os
import platform
import random
import statistics
import struct
import sys
import time
import wave

GB = 1e9  # goals and tables use decimal GB


# ---------------------------------------------------------------------------------------------
# make-clip


def make_clip(path, seconds=8.0, rate=16000, seed=1234):
    """Voiced 'syllables' (glottal-like harmonic source with a gliding pitch and two moving
    formant-like resonances), short noise bursts (fricatives) and pauses. Deterministic."""
    rng = random.Random(seed)
    n = int(round(seconds * rate))
    out = [0.0] * n
    t = 0
    while t < n:
        kind = rng.random()
        length = int(rate * rng.uniform(0.12, 0.32))
        end = min(n, t + length)
        if kind < 0.65:  # voiced syllable
            f0a, f0b = rng.uniform(95, 150), rng.uniform(95, 210)
            fm1, fm2 = rng.uniform(300, 850), rng.uniform(900, 2400)
            phase = 0.0
            for i in range(t, end):
                u = (i - t) / max(1, end - t)
                f0 = f0a + (f0b - f0a) * u
                phase += 2 * math.pi * f0 / rate
                env = math.sin(math.pi * u) ** 0.6
                s = 0.0
                for h in range(1, 24):
                    fh = h * f0
                    if fh > 7000:
                        break
                    # two resonances shape the harmonic amplitudes
                    w = 1.0 / (1.0 + ((fh - fm1) / 160.0) ** 2) + 0.6 / (1.0 + ((fh - fm2) / 260.0) ** 2)
                    s += (w + 0.03) * math.sin(h * phase) / h ** 0.3
                out[i] += 0.18 * env * s
        elif kind < 0.85:  # fricative: high-passed noise burst
            prev = 0.0
            for i in range(t, end):
                u = (i - t) / max(1, end - t)
                x = rng.uniform(-1, 1)
                out[i] += 0.12 * math.sin(math.pi * u) * (x - prev)
                prev = x
        else:  # pause with a little room noise
            end = min(n, t + int(rate * rng.uniform(0.05, 0.2)))
        t = end
    for i in range(n):
        out[i] += rng.gauss(0, 0.002)
    peak = max(abs(x) for x in out) or 1.0
    scale = 0.7 / peak
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, x * scale)) * 32767)) for x in out))


# ---------------------------------------------------------------------------------------------
# helpers


def proc_status(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def read_wav_mono_f32(path):
    """16-bit PCM WAV -> list of float samples and rate (the clip made above)."""
    with wave.open(path, "rb") as w:
        ch, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(frames)
    if width != 2:
        raise SystemExit(f"{path}: expected 16-bit PCM, got {8 * width}-bit")
    ints = struct.unpack("<%dh" % (len(raw) // 2), raw)
    if ch > 1:
        ints = [sum(ints[i:i + ch]) / ch for i in range(0, len(ints), ch)]
    return [x / 32768.0 for x in ints], rate


# ---------------------------------------------------------------------------------------------
# official


AUDIO_TOKEN_KEYS = ("audio_token", "audio_bos_token", "audio_eos_token")


def official_view(checkpoint, overlay_root):
    """The official processor (transformers 4.57) gets `tokenizer.audio_token` & co. only from the
    `extra_special_tokens` map of tokenizer_config.json (which `save_pretrained` writes next to the
    flat keys); flat `audio_token` keys alone leave the attribute undefined and
    Qwen3ASRProcessor.__init__ raises AttributeError. If the checkpoint has the flat keys but no
    map, build an overlay directory (symlinks to every file, plus a tokenizer_config.json with the
    map added from the flat keys) and load that. The checkpoint itself is never modified and Earshot
    reads the original. Returns (dir, list of notes)."""
    path = os.path.join(checkpoint, "tokenizer_config.json")
    with open(path) as f:
        cfg = json.load(f)
    extra = cfg.get("extra_special_tokens")
    have = isinstance(extra, dict) and all(k in extra for k in AUDIO_TOKEN_KEYS)
    if have:
        return checkpoint, []
    flat = {k: cfg[k] for k in AUDIO_TOKEN_KEYS if isinstance(cfg.get(k), str)}
    if len(flat) != len(AUDIO_TOKEN_KEYS):
        raise SystemExit(f"{path}: no {', '.join(AUDIO_TOKEN_KEYS)} entries; the official processor needs them")
    overlay = os.path.join(overlay_root, "official-view-" + os.path.basename(os.path.normpath(checkpoint)))
    os.makedirs(overlay, exist_ok=True)
    for name in os.listdir(checkpoint):
        dst = os.path.join(overlay, name)
        if name == "tokenizer_config.json":
            continue
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.path.abspath(os.path.join(checkpoint, name)), dst)
    merged = dict(extra) if isinstance(extra, dict) else {}
    merged.update(flat)
    cfg["extra_special_tokens"] = merged
    with open(os.path.join(overlay, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
    note = (f"{path} has flat audio_token/audio_bos_token/audio_eos_token but no extra_special_tokens map; "
            f"transformers {_version('transformers')} needs the map (else AttributeError: Qwen2TokenizerFast "
            f"has no attribute audio_token). Loaded the official model from overlay {overlay} "
            "(symlinks + tokenizer_config.json with extra_special_tokens added).")
    print("official: NOTE " + note, file=sys.stderr)
    return overlay, [note]


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def _version(pkg):
    try:
        import importlib.metadata as md
        return md.version(pkg)
    except Exception:
        return None


def run_official(a):
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    import importlib.metadata as md
    from qwen_asr import Qwen3ASRModel

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[a.dtype]
    samples, rate = read_wav_mono_f32(a.audio)
    audio = np.asarray(samples, dtype=np.float32)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    loadavg_start = _loadavg()
    load_dir, notes = official_view(a.checkpoint, a.overlay_dir or os.path.dirname(os.path.abspath(a.out)))
    rss_before = proc_status("VmRSS")
    t = time.perf_counter()
    asr = Qwen3ASRModel.from_pretrained(load_dir, dtype=dtype, device_map="cpu",
                                        max_new_tokens=a.max_new_tokens)
    load_ms = (time.perf_counter() - t) * 1000
    rss_loaded = proc_status("VmRSS")

    model = asr.model
    model.eval()
    thinker = model.thinker
    n = a.max_new_tokens
    for gc in (getattr(model, "generation_config", None), getattr(thinker, "generation_config", None)):
        if gc is not None:
            gc.max_new_tokens = n
            gc.min_new_tokens = n
            gc.do_sample = False

    ev = {}

    def reset():
        ev.clear()
        ev.update(step_start=[], step_end=[], enc_start=[], enc_end=[], cpu_step_end=[], cpu_enc=[])

    # wall clock for the figures; process CPU time (all threads) beside it, which a shared machine
    # inflates far less than wall time
    def mark(key, cpu_key=None):
        def hook(*_):
            ev[key].append(time.perf_counter())
            if cpu_key:
                ev[cpu_key].append(time.process_time())
        return hook

    thinker.register_forward_pre_hook(mark("step_start"))
    thinker.register_forward_hook(mark("step_end", "cpu_step_end"))
    tower = thinker.audio_tower
    tower.register_forward_pre_hook(mark("enc_start", "cpu_enc"))
    tower.register_forward_hook(mark("enc_end", "cpu_enc"))

    def request():
        reset()
        c0 = time.process_time()
        t0 = time.perf_counter()
        with torch.inference_mode():
            res = asr.transcribe((audio, rate))
        t_end = time.perf_counter()
        se, ss, cse, ce = ev["step_end"], ev["step_start"], ev["cpu_step_end"], ev["cpu_enc"]
        steps = len(se)
        if steps < 1 or not ev["enc_end"]:
            raise SystemExit("official: no thinker/audio-tower forward observed (hooks did not fire)")
        r = {
            "total_ms": (t_end - t0) * 1000,
            "features_ms": (ss[0] - t0) * 1000,
            "encoder_ms": sum(e - s for s, e in zip(ev["enc_start"], ev["enc_end"])) * 1000,
            "encoder_calls": len(ev["enc_end"]),
            "prefill_ms": (se[0] - ev["enc_end"][-1]) * 1000,
            "ttft_ms": (se[0] - t0) * 1000,
            "encoder_cpu_ms": sum(ce[i + 1] - ce[i] for i in range(0, len(ce) - 1, 2)) * 1000,
            "ttft_cpu_ms": (cse[0] - c0) * 1000,
            "generated_tokens": steps,
            "text": res[0].text,
            "language": res[0].language,
        }
        if steps >= 2:
            per = (se[-1] - se[0]) / (steps - 1)
            r["decode_ms_per_token"] = per * 1000
            r["decode_tokens_per_second"] = 1.0 / per
            r["decode_cpu_ms_per_token"] = (cse[-1] - cse[0]) / (steps - 1) * 1000
        return r

    # prompt/audio token counts, from the package's own processor and prompt builder
    prompt_tokens = audio_tokens = None
    try:
        text = asr._build_text_prompt(context="", force_language=None)
        inputs = asr.processor(text=[text], audio=[audio], return_tensors="pt", padding=True)
        ids = inputs["input_ids"][0]
        prompt_tokens = int(ids.shape[0])
        audio_tokens = int((ids == thinker.config.audio_token_id).sum())
    except Exception as e:  # informative only
        print(f"official: could not count prompt tokens: {e}", file=sys.stderr)

    warm = []
    for i in range(a.warmup):
        warm.append(request())
        print(f"official {a.shape} {a.dtype}: warm-up {i + 1}: ttft {warm[-1]['ttft_ms']:.0f} ms, "
              f"{warm[-1]['generated_tokens']} tokens", file=sys.stderr, flush=True)
    runs = []
    for i in range(a.runs):
        runs.append(request())
        r = runs[-1]
        print(f"official {a.shape} {a.dtype}: run {i + 1}/{a.runs}: encoder {r['encoder_ms']:.0f} ms, "
              f"ttft {r['ttft_ms']:.0f} ms, decode {r.get('decode_ms_per_token', float('nan')):.1f} ms/token, "
              f"{r['generated_tokens']} tokens (CPU: encoder {r['encoder_cpu_ms']:.0f} ms, ttft {r['ttft_cpu_ms']:.0f} ms, "
              f"decode {r.get('decode_cpu_ms_per_token', float('nan')):.1f} ms/token)", file=sys.stderr, flush=True)
    counts = {r["generated_tokens"] for r in runs}
    if counts != {n}:
        print(f"official: WARNING generated {sorted(counts)} tokens, asked for {n}", file=sys.stderr)

    versions = {}
    for p in ("qwen-asr", "transformers", "torch", "accelerate"):
        try:
            versions[p] = md.version(p)
        except Exception:
            versions[p] = None
    result = {
        "runtime": "official",
        "shape": a.shape,
        "precision": a.dtype,
        "checkpoint": os.path.abspath(a.checkpoint),
        "loaded_from": os.path.abspath(load_dir),
        "checkpoint_notes": notes,
        "audio": os.path.abspath(a.audio),
        "audio_seconds": len(samples) / rate,
        "audio_tokens": audio_tokens,
        "prompt_tokens": prompt_tokens,
        "threads": a.threads,
        "torch_threads": torch.get_num_threads(),
        "runs": a.runs,
        "warmup": a.warmup,
        "max_new_tokens": n,
        "generated_tokens": runs[0]["generated_tokens"] if runs else None,
        "load_ms": load_ms,
        "features_ms": stats([r["features_ms"] for r in runs]),
        "encoder_ms": stats([r["encoder_ms"] for r in runs]),
        "prefill_ms": stats([r["prefill_ms"] for r in runs]),
        "ttft_ms": stats([r["ttft_ms"] for r in runs]),
        "total_ms": stats([r["total_ms"] for r in runs]),
        "decode_ms_per_token": stats([r.get("decode_ms_per_token") for r in runs]),
        "decode_tokens_per_second": stats([r.get("decode_tokens_per_second") for r in runs]),
        "encoder_cpu_ms": stats([r["encoder_cpu_ms"] for r in runs]),
        "ttft_cpu_ms": stats([r["ttft_cpu_ms"] for r in runs]),
        "decode_cpu_ms_per_token": stats([r.get("decode_cpu_ms_per_token") for r in runs]),
        "rss_before_load_bytes": rss_before,
        "rss_after_load_bytes": rss_loaded,
        "rss_after_runs_bytes": proc_status("VmRSS"),
        "peak_rss_bytes": proc_status("VmHWM"),
        "loadavg_start": loadavg_start,
        "loadavg_end": _loadavg(),
        "cpu_count": os.cpu_count(),
        "per_run": runs,
        "warmup_runs": warm,
        "versions": versions,
        "python": platform.python_version(),
        "method": "transcribe() with forward hooks on thinker and thinker.audio_tower; "
                  "min_new_tokens = max_new_tokens; see bench/compare_official.py header",
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)


# ---------------------------------------------------------------------------------------------
# report

EARSHOT_REQUIRED = ["precision", "encoder_ms", "ttft_ms", "decode_tokens_per_second", "peak_rss_bytes"]


def load_earshot(shape, path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"report: cannot read Earshot JSON {path}: {e}")
    missing = [k for k in EARSHOT_REQUIRED if k not in d]
    for k in ("encoder_ms", "ttft_ms", "decode_tokens_per_second"):
        if k in d and not (isinstance(d[k], dict) and "median" in d[k]):
            missing.append(f"{k}.median")
    if missing:
        raise SystemExit(f"report: Earshot JSON {path} lacks {', '.join(missing)} "
                         "(expected the `earshot bench speed --json` format)")
    tps = d["decode_tokens_per_second"]
    row = {
        "runtime": "earshot",
        "shape": shape,
        "precision": str(d["precision"]),
        "encoder_ms": d["encoder_ms"],
        "prefill_ms": d.get("prefill_ms"),
        "ttft_ms": d["ttft_ms"],
        "decode_tokens_per_second": tps,
        "decode_ms_per_token": {"median": 1000.0 / tps["median"]} if tps.get("median") else None,
        "peak_rss_bytes": d["peak_rss_bytes"],
        "decode_fraction_of_bandwidth_bound": d.get("decode_fraction_of_bandwidth_bound"),
        "generated_tokens": d.get("generated_tokens"),
        "audio_tokens": d.get("audio_tokens"),
        "prompt_tokens": d.get("prompt_tokens"),
        "threads": d.get("threads"),
        "runs": d.get("runs"),
        "source": os.path.abspath(path),
        "raw": d,
    }
    return row


def med(x):
    return x.get("median") if isinstance(x, dict) else None


def goals_for(shape, precision):
    p = precision.lower()
    g = []
    # Issue 19's goals (issue 5's were TTFT <= 0.5x, decode >= 25 / 10 tok/s, RSS <= 1.2 / 2.6 GB).
    if p.startswith("q8"):
        if shape == "0.6b":
            g = [("ttft_ratio", "<=", 0.30), ("decode_bound", ">=", 0.90), ("rss_gb", "<=", 1.2)]
        elif shape == "1.7b":
            g = [("ttft_ratio", "<=", 0.30), ("decode_bound", ">=", 0.90), ("rss_gb", "<=", 2.5)]
    elif p in ("native", "inplace", "in-place", "bf16", "bfloat16"):
        g = [("decode_speedup", ">=", 2.0)]
    return g


GOAL_LABEL = {"ttft_ratio": "TTFT {op} {v}x official", "decode_tps": "decode {op} {v:g} tok/s",
              "decode_bound": "decode {op} {v:.0%} of the bandwidth bound",
              "decode_speedup": "decode {op} {v}x official", "rss_gb": "RSS {op} {v} GB"}


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def report(a):
    official = []
    for path in a.official or []:
        with open(path) as f:
            official.append(json.load(f))
    earshot = []
    for item in a.earshot or []:
        shape, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"report: --earshot wants SHAPE=FILE, got {item!r}")
        earshot.append(load_earshot(shape.lower(), path))

    shapes = []
    for r in official + earshot:
        if r["shape"] not in shapes:
            shapes.append(r["shape"])
    out = {"shapes": {}, "all_goals_passed": None}
    lines = []
    all_ok = True
    any_goal = False
    for shape in shapes:
        base = next((r for r in official if r["shape"] == shape and r["precision"] == "float32"), None)
        rows = [r for r in official if r["shape"] == shape] + [r for r in earshot if r["shape"] == shape]
        lines.append(f"### Qwen3-ASR {shape.upper()} (random weights; "
                     f"{_common(rows, 'threads')} threads; {_common(rows, 'generated_tokens')} generated tokens)")
        lines.append("")
        lines.append("| runtime / precision | encoder ms | TTFT ms (median) | decode tok/s (median) | ms/token "
                     "| peak RSS GB | RSS after runs GB | TTFT vs official f32 | decode speedup | RSS vs official f32 | goals |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        shape_out = []
        for r in rows:
            ttft, tps = med(r["ttft_ms"]), med(r["decode_tokens_per_second"])
            mspt = med(r.get("decode_ms_per_token")) or (1000.0 / tps if tps else None)
            rss = r.get("peak_rss_bytes")
            ratios = {"ttft_ratio": None, "decode_speedup": None, "rss_ratio": None}
            if base is not None and r is not base:
                bt, bm, br = med(base["ttft_ms"]), med(base["decode_ms_per_token"]), base.get("peak_rss_bytes")
                if ttft and bt:
                    ratios["ttft_ratio"] = ttft / bt
                if mspt and bm:
                    ratios["decode_speedup"] = bm / mspt
                if rss and br:
                    ratios["rss_ratio"] = rss / br
            metric = {"ttft_ratio": ratios["ttft_ratio"], "decode_tps": tps, "decode_speedup": ratios["decode_speedup"],
                      "rss_gb": rss / GB if rss else None,
                      "decode_bound": r.get("decode_fraction_of_bandwidth_bound")}
            checks = []
            if r["runtime"] == "earshot":
                for key, op, v in goals_for(shape, r["precision"]):
                    got = metric[key]
                    ok = None if got is None else (got <= v if op == "<=" else got >= v)
                    checks.append({"goal": GOAL_LABEL[key].format(op=op, v=v), "value": got, "passed": ok})
                    any_goal = True
                    if ok is not True:
                        all_ok = False
            goal_txt = "; ".join(f"{'PASS' if c['passed'] else ('FAIL' if c['passed'] is False else 'n/a')} "
                                 f"{c['goal']} ({fmt(c['value'], '.2f')})" for c in checks) or "-"
            label = f"{r['runtime']} {r['precision']}"
            lines.append(
                f"| {label} | {fmt(med(r['encoder_ms']), '.0f')} | {fmt(ttft, '.0f')} | {fmt(tps, '.1f')} "
                f"| {fmt(mspt, '.1f')} | {fmt(rss / GB if rss else None, '.2f')} "
                f"| {fmt(r['rss_after_runs_bytes'] / GB if r.get('rss_after_runs_bytes') else None, '.2f')} "
                f"| {fmt(ratios['ttft_ratio'], '.2f') + 'x' if ratios['ttft_ratio'] else ('1.00x' if r is base else 'n/a')} "
                f"| {fmt(ratios['decode_speedup'], '.2f') + 'x' if ratios['decode_speedup'] else ('1.00x' if r is base else 'n/a')} "
                f"| {fmt(ratios['rss_ratio'], '.2f') + 'x' if ratios['rss_ratio'] else ('1.00x' if r is base else 'n/a')} "
                f"| {goal_txt} |")
            entry = {k: v for k, v in r.items() if k not in ("raw", "per_run", "warmup_runs")}
            entry.update(ratios)
            entry["goals"] = checks
            shape_out.append(entry)
        notes = []
        for r in rows:
            if r["runtime"] == "official":
                la = r.get("loadavg_start"), r.get("loadavg_end")
                notes.append(f"- official {r['precision']}: process CPU time (all threads) encoder "
                             f"{fmt(med(r.get('encoder_cpu_ms')), '.0f')} ms, TTFT {fmt(med(r.get('ttft_cpu_ms')), '.0f')} ms, "
                             f"decode {fmt(med(r.get('decode_cpu_ms_per_token')), '.1f')} ms/token; load average "
                             f"{la[0][0] if la[0] else '?'} -> {la[1][0] if la[1] else '?'} on {r.get('cpu_count', '?')} CPUs; "
                             f"load {fmt(r.get('load_ms'), '.0f')} ms")
                for n in r.get("checkpoint_notes") or []:
                    notes.append(f"- official {r['precision']}: {n}")
        if notes:
            lines.append("")
            lines.extend(notes)
        if base is None:
            lines.append("")
            lines.append(f"(no official float32 run for {shape}: ratios and ratio goals are n/a)")
        lines.append("")
        out["shapes"][shape] = shape_out
    out["all_goals_passed"] = (all_ok if any_goal else None)
    lines.append(f"Goals: {'all passed' if (any_goal and all_ok) else ('not all passed' if any_goal else 'none evaluated')}. "
                 "GB = 10^9 bytes; decode speedup = official ms/token / Earshot ms/token (medians).")
    text = "\n".join(lines)
    print(text)
    out["markdown"] = text
    out["official_raw"] = official
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    if a.fail_on_goals and any_goal and not all_ok:
        sys.exit(3)


def _common(rows, key):
    vals = sorted({str(r.get(key)) for r in rows if r.get(key) is not None})
    return "/".join(vals) if vals else "?"


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("make-clip")
    c.add_argument("out")
    c.add_argument("--seconds", type=float, default=8.0)
    o = sub.add_parser("official")
    o.add_argument("--checkpoint", required=True)
    o.add_argument("--shape", required=True)
    o.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    o.add_argument("--audio", required=True)
    o.add_argument("--threads", type=int, default=2)
    o.add_argument("--runs", type=int, default=3)
    o.add_argument("--warmup", type=int, default=1)
    o.add_argument("--max-new-tokens", type=int, default=32)
    o.add_argument("--out", required=True)
    o.add_argument("--overlay-dir", help="where to build a patched view of the checkpoint if needed "
                   "(default: the directory of --out)")
    r = sub.add_parser("report")
    r.add_argument("--official", action="append", help="official result JSON (repeatable)")
    r.add_argument("--earshot", action="append", help="SHAPE=FILE, an `earshot bench speed --json` output")
    r.add_argument("--json")
    r.add_argument("--fail-on-goals", action="store_true")
    a = ap.parse_args()
    if a.cmd == "make-clip":
        make_clip(a.out, a.seconds)
    elif a.cmd == "official":
        run_official(a)
    else:
        report(a)


if __name__ == "__main__":
    main()
