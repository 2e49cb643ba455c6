#!/usr/bin/env python3
"""faster-whisper (CTranslate2) vs Earshot on real speech: text, WER and time per file.

Needs a Python with faster-whisper==1.2.1 (ctranslate2 4.8.5) importable; run it with that venv's
python, or through bench/compare-faster-whisper.sh, which makes the venv (pinned versions from
bench/faster-whisper-requirements.txt) when it is missing and then runs this file.

  bench/compare-faster-whisper.sh                                 # tiny.en,base x float32,int8, 2 threads
  bench/compare-faster-whisper.sh --earshot .build/release/earshot --repeat 3
  bench/compare-faster-whisper.sh --repeat 1 --reference-out Tests/Fixtures/speech/faster-whisper-reference.json

What is measured (faster-whisper side)
  * WhisperModel(dir, device="cpu", compute_type=C, cpu_threads=T), loaded once per model and
    compute type; loading is not timed. One warm-up transcription (the first file) before timing.
  * Every file: wall clock (time.perf_counter) around model.transcribe(samples, ...) plus consuming
    the whole segment generator: log-mel, encoder, decoder and detokenisation. The WAV is read
    (stdlib `wave`, int16 / 32768, bit-identical to faster-whisper's own PyAV decoding of these
    files) before the clock starts, so file decoding is not timed.
  * --pipeline greedy (default): beam_size=1, best_of=1, temperature=0.0 (one temperature, so no
    fallback), language="en", task="transcribe", without_timestamps=True,
    condition_on_previous_text=False, vad_filter=False, word_timestamps=False; everything else at
    faster-whisper 1.2.1's defaults (listed in the JSON under "settings"). Earshot: --greedy.
  * --pipeline default: faster-whisper's own defaults (beam 5, best_of 5, temperatures 0.0..1.0,
    timestamps, condition_on_previous_text; language detected, "en" on English-only models).
    Earshot: its defaults, which are the same pipeline.
  * Text = concatenation of Segment.text over the segments, then str.strip().

Earshot side (--earshot BIN)
  * `BIN transcribe --model DIR --threads T [--quant q8] --json FILE...`; one JSON object per line
    per file with "text" and "timings" (encode_ms, ttft_ms, decode_ms, total_ms; missing keys are
    tolerated). precision float32 = no --quant flag, int8 = --quant q8.
  * One invocation per repetition, with the first file passed twice at the front as an in-process
    warm-up (its line is dropped) unless --earshot-warmup 0.
  * Per-file time = timings.total_ms when present (model load excluded), else the wall time of the
    whole invocation divided by the number of files passed (model load included; flagged in the
    output as "wall/files").
  * Engine order alternates per repetition (fw first on even repetitions, Earshot first on odd ones)
    so the shared machine's noise hits both. Reported total = sum over files of each file's median
    over --repeat repetitions (the JSON also has the per-repetition totals and their median);
    "best" = sum over files of each file's fastest repetition (the least disturbed estimate on a
    busy machine).

Re-render the tables of an earlier results JSON (derived totals recomputed from the per-file
seconds): --report-only FILE.

WER (as bench README / fixture README define it): lowercase, keep letters, digits and apostrophes
(U+2019 counts as an apostrophe), split on everything else, then (S + D + I) / reference words,
summed over the set (word-level Levenshtein distance per file).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import wave


GREEDY = dict(
    language="en",
    task="transcribe",
    beam_size=1,
    best_of=1,
    temperature=0.0,
    without_timestamps=True,
    condition_on_previous_text=False,
    vad_filter=False,
    word_timestamps=False,
)

# faster-whisper 1.2.1's transcribe() defaults for what GREEDY changes (--pipeline default).
PIPELINE_DEFAULT = dict(
    task="transcribe",
    beam_size=5,
    best_of=5,
    temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
    without_timestamps=False,
    condition_on_previous_text=True,
    vad_filter=False,
    word_timestamps=False,
)

# Thread variables this script set for numpy; not passed on to Earshot.
SET_BY_US = []

# faster-whisper 1.2.1 defaults for everything GREEDY does not set, passed explicitly so the run
# does not depend on a default changing.
DEFAULTS = dict(
    patience=1.0,
    length_penalty=1.0,
    repetition_penalty=1.0,
    no_repeat_ngram_size=0,
    compression_ratio_threshold=2.4,
    log_prob_threshold=-1.0,
    no_speech_threshold=0.6,
    prompt_reset_on_temperature=0.5,
    initial_prompt=None,
    prefix=None,
    suppress_blank=True,
    suppress_tokens=[-1],
    max_initial_timestamp=1.0,
    multilingual=False,
    max_new_tokens=None,
    chunk_length=None,
    clip_timestamps="0",
    hallucination_silence_threshold=None,
    hotwords=None,
)


# ---------------------------------------------------------------------------------------------
# WER


def normalise_words(text):
    words, cur = [], []
    for ch in text.lower():
        if ch == "\u2019":
            ch = "'"
        if ch.isalpha() or ch.isdigit() or ch == "'":
            cur.append(ch)
        elif cur:
            words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    return words


def word_edits(ref, hyp):
    """Levenshtein distance between two word lists (S + D + I)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer_stats(refs, hyps, names):
    per_file, edits, words = {}, 0, 0
    for n in names:
        r, h = normalise_words(refs[n]), normalise_words(hyps.get(n, ""))
        e = word_edits(r, h)
        per_file[n] = {"edits": e, "ref_words": len(r), "wer": e / len(r) if r else 0.0}
        edits += e
        words += len(r)
    return {"edits": edits, "ref_words": words, "wer": edits / words if words else 0.0, "files": per_file}


# ---------------------------------------------------------------------------------------------
# inputs


def find_set(arg):
    if arg:
        return arg
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    for cand in (os.path.join(repo, "Tests/Fixtures/speech"),
                 os.path.join(repo, "../shared/fixtures/speech"),
                 "Tests/Fixtures/speech", "../shared/fixtures/speech"):
        if os.path.isfile(os.path.join(cand, "transcripts.json")):
            return os.path.normpath(cand)
    sys.exit("compare-faster-whisper: no speech set found (Tests/Fixtures/speech or "
             "../shared/fixtures/speech); pass --set DIR")


def read_wav(path, np):
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"compare-faster-whisper: {path}: need 16 kHz mono PCM16, got "
                     f"{w.getframerate()} Hz, {w.getnchannels()} ch, {8 * w.getsampwidth()} bit")
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def load_set(set_dir, np):
    with open(os.path.join(set_dir, "transcripts.json"), encoding="utf-8") as f:
        items = json.load(f)["items"]
    names = [it["audio"] for it in items]
    refs = {it["audio"]: it["text"] for it in items}
    audio = {n: read_wav(os.path.join(set_dir, n), np) for n in names}
    return names, refs, audio


# ---------------------------------------------------------------------------------------------
# faster-whisper


class FasterWhisperRunner:
    def __init__(self, model_dir, compute_type, threads, pipeline=None):
        from faster_whisper import WhisperModel

        self.pipeline = pipeline or GREEDY
        self.model = WhisperModel(model_dir, device="cpu", compute_type=compute_type,
                                  cpu_threads=threads)
        self.windows = []
        self.collect_gaps = False
        inner = self.model.generate_with_fallback

        # Observe (not change) every decoded 30 s window: prompt, raw token ids, no-speech
        # probability and average log-probability, so a window dropped by the no-speech rule
        # is visible. Replaces the bound method on this instance only.
        def observed(encoder_output, prompt, tokenizer, options):
            result = inner(encoder_output, prompt, tokenizer, options)
            gen, avg_logprob, temperature, compression_ratio = result
            dropped = (options.no_speech_threshold is not None
                       and gen.no_speech_prob > options.no_speech_threshold
                       and not (options.log_prob_threshold is not None
                                and avg_logprob > options.log_prob_threshold))
            self.windows.append({
                "prompt": [int(t) for t in prompt],
                "tokens": [int(t) for t in gen.sequences_ids[0]],
                "no_speech_prob": float(gen.no_speech_prob),
                "avg_logprob": float(avg_logprob),
                "compression_ratio": float(compression_ratio),
                "temperature": float(temperature),
                "dropped_as_no_speech": bool(dropped),
            })
            if self.collect_gaps:
                self.windows[-1].update(self._logit_gaps(encoder_output, prompt, options, gen))
            return result

        self.model.generate_with_fallback = observed

    def _logit_gaps(self, encoder_output, prompt, options, gen):
        """Decode the window again with the same CTranslate2 call and return_logits_vocab=True:
        per step, the gap between the best and second-best logit after suppression (how close a
        greedy pick was). Only in the untimed --reference-out pass."""
        import numpy as np

        max_length = (len(prompt) + options.max_new_tokens if options.max_new_tokens is not None
                      else self.model.max_length)
        again = self.model.model.generate(
            encoder_output, [prompt], beam_size=options.beam_size, patience=options.patience,
            length_penalty=options.length_penalty, repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size, max_length=max_length,
            return_scores=True, return_no_speech_prob=True, suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            max_initial_timestamp_index=int(round(options.max_initial_timestamp / self.model.time_precision)),
            return_logits_vocab=True)[0]
        gaps = []
        for step_logits in again.logits[0]:
            top = np.sort(np.asarray(step_logits, dtype=np.float64))[-2:]
            gaps.append(round(float(top[1] - top[0]), 4))
        return {"logit_gaps": gaps,
                "logits_run_same_tokens": [int(t) for t in again.sequences_ids[0]] == list(gen.sequences_ids[0])}

    def transcribe(self, samples):
        self.windows = []
        t0 = time.perf_counter()
        segments, _info = self.model.transcribe(samples, **self.pipeline, **DEFAULTS)
        segments = list(segments)
        seconds = time.perf_counter() - t0
        text = "".join(s.text for s in segments).strip()
        tokens = [int(t) for s in segments for t in s.tokens]
        return {"text": text, "seconds": seconds, "tokens": tokens,
                "segments": len(segments), "windows": self.windows}


# ---------------------------------------------------------------------------------------------
# Earshot


def run_earshot(binary, model_dir, precision, threads, paths, warmup, greedy=True):
    files = ([paths[0]] * warmup) + list(paths)
    cmd = [binary, "transcribe", "--model", model_dir, "--threads", str(threads)]
    if greedy:
        cmd += ["--greedy", "--language", "en"]
    if precision == "int8":
        cmd += ["--quant", "q8"]
    elif precision != "float32":
        raise ValueError(f"no Earshot mapping for precision {precision!r}")
    cmd += ["--json"] + files
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_US}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    out = {"command": cmd, "exit": proc.returncode, "wall_seconds": wall, "files": []}
    if proc.returncode != 0:
        out["error"] = (proc.stderr or proc.stdout)[-2000:]
        return out
    lines = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and "text" in obj:
                lines.append(obj)
    if len(lines) != len(files):
        out["error"] = (f"expected {len(files)} JSON lines with \"text\", got {len(lines)}; "
                        f"stdout tail: {proc.stdout[-1000:]!r} stderr tail: {proc.stderr[-1000:]!r}")
        return out
    lines = lines[warmup:]
    for obj in lines:
        timings = obj.get("timings") or {}
        total_ms = timings.get("total_ms") if isinstance(timings, dict) else None
        if isinstance(total_ms, (int, float)):
            seconds, source = total_ms / 1000.0, "timings.total_ms"
        else:
            seconds, source = wall / len(files), "wall/files"
        rec = {"text": str(obj.get("text", "")).strip(), "seconds": seconds, "time_source": source}
        if isinstance(timings, dict):
            rec["timings"] = {k: timings.get(k) for k in ("encode_ms", "ttft_ms", "decode_ms", "total_ms")
                              if k in timings}
        out["files"].append(rec)
    return out


# ---------------------------------------------------------------------------------------------
# report


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec=".3f"):
    return "—" if x is None else format(x, spec)


def summarise(runs, names, refs, audio_seconds):
    """runs: list of {name: {text, seconds, ...}} per repetition."""
    if not runs:
        return None
    first = runs[0]
    texts = {n: first[n]["text"] for n in names}
    stable = all(r[n]["text"] == texts[n] for r in runs for n in names)
    per_file = {}
    for n in names:
        secs = [r[n]["seconds"] for r in runs]
        rec = {"text": texts[n], "seconds_median": median(secs), "seconds": secs,
               "audio_seconds": audio_seconds[n]}
        rec["rtf"] = rec["seconds_median"] / audio_seconds[n]
        for k in ("tokens", "segments", "windows", "time_source", "timings"):
            if k in first[n]:
                rec[k] = first[n][k]
        per_file[n] = rec
    totals = [sum(r[n]["seconds"] for n in names) for r in runs]
    total_audio = sum(audio_seconds[n] for n in names)
    wer = wer_stats(refs, texts, names)
    for n in names:
        per_file[n]["wer"] = wer["files"][n]["wer"]
        per_file[n]["edits"] = wer["files"][n]["edits"]
        per_file[n]["ref_words"] = wer["files"][n]["ref_words"]
    sources = sorted({first[n].get("time_source", "perf_counter") for n in names})
    best = sum(min(r[n]["seconds"] for r in runs) for n in names)
    return {"total_seconds_median": sum(per_file[n]["seconds_median"] for n in names),
            "total_seconds_per_repetition": totals,
            "total_seconds_median_of_repetitions": median(totals),
            "total_seconds_best": best,
            "audio_seconds": total_audio,
            "rtf": sum(per_file[n]["seconds_median"] for n in names) / total_audio,
            "wer": wer["wer"], "edits": wer["edits"], "ref_words": wer["ref_words"],
            "texts_stable_across_repetitions": stable, "time_source": sources, "files": per_file}


def markdown(results):
    lines = [
        "| model | precision | threads | faster-whisper s | earshot s | fw/earshot | WER fw | WER earshot | identical text | fw best s | earshot best s | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        fw, es = r["faster_whisper"], r.get("earshot")
        fw_s = fw["total_seconds_median"]
        es_s = es["total_seconds_median"] if es else None
        ratio = fw_s / es_s if (es_s and fw_s) else None
        ident = "—"
        if es:
            same = sum(1 for n in fw["files"] if fw["files"][n]["text"] == es["files"][n]["text"])
            ident = f"{same}/{len(fw['files'])}"
        la = r.get("loadavg_1_5_15")
        load = f"{la['before'][0]:.1f}→{la['after'][0]:.1f}" if la else "—"
        es_time = fmt(es_s) + (" (wall/files)" if es and "wall/files" in es["time_source"] else "") if es else "—"
        lines.append(f"| {r['model']} | {r['precision']} | {r['threads']} | {fmt(fw_s)} | {es_time} | "
                     f"{fmt(ratio, '.2f')} | {fw['wer'] * 100:.1f}% | "
                     f"{(fmt(es['wer'] * 100, '.1f') + '%') if es else '—'} | {ident} | "
                     f"{fmt(fw['total_seconds_best'])} | {fmt(es['total_seconds_best']) if es else '—'} | "
                     f"{load} |")
    return "\n".join(lines)


def per_file_markdown(r):
    fw, es = r["faster_whisper"], r.get("earshot")
    head = f"\n#### {r['model']} {r['precision']} {r['threads']} threads\n\n"
    if es:
        rows = ["| file | audio s | fw s | fw RTF | fw WER | earshot s | earshot WER | same | fw text | earshot text |",
                "|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    else:
        rows = ["| file | audio s | fw s | fw RTF | fw WER | fw text |",
                "|---|---:|---:|---:|---:|---|"]
    for n, f in fw["files"].items():
        base = (f"| {n} | {f['audio_seconds']:.2f} | {f['seconds_median']:.3f} | {f['rtf']:.3f} | "
                f"{f['wer'] * 100:.1f}% |")
        if es:
            e = es["files"][n]
            rows.append(base + f" {e['seconds_median']:.3f} | {e['wer'] * 100:.1f}% | "
                        f"{'yes' if e['text'] == f['text'] else 'no'} | {f['text']} | {e['text']} |")
        else:
            rows.append(base + f" {f['text']} |")
    return head + "\n".join(rows)


def environment():
    env = {"python": platform.python_version(), "platform": platform.platform(),
           "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    env["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import ctranslate2
        import faster_whisper
        import numpy
        import tokenizers
        env.update(faster_whisper=faster_whisper.__version__, ctranslate2=ctranslate2.__version__,
                   numpy=numpy.__version__, tokenizers=tokenizers.__version__,
                   ct2_cpu_compute_types=sorted(ctranslate2.get_supported_compute_types("cpu")))
    except Exception as e:  # pragma: no cover - reported, not fatal
        env["import_error"] = repr(e)
    return env


def ct2_backend(model_dir, compute_type):
    """CTranslate2's own account (CT2_VERBOSE=1) of the CPU ISA, GEMM backends and the compute
    type it selects, from a separate process that only loads the model."""
    code = ("import sys, ctranslate2; ctranslate2.models.Whisper(sys.argv[1], device='cpu', "
            "compute_type=sys.argv[2], intra_threads=1)")
    try:
        proc = subprocess.run([sys.executable, "-c", code, model_dir, compute_type], capture_output=True,
                              text=True, env={**os.environ, "CT2_VERBOSE": "1"}, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [repr(e)]
    return [line.split("[info]", 1)[1].strip() for line in proc.stderr.splitlines() if "[info]" in line]


# ---------------------------------------------------------------------------------------------
# main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="tiny.en,base")
    ap.add_argument("--compute-types", default="float32,int8",
                    help="CTranslate2 compute types = Earshot precisions (float32, int8)")
    ap.add_argument("--threads", default="2", help="thread count, or a comma list")
    ap.add_argument("--set", default=None, help="speech set dir (transcripts.json + wavs)")
    ap.add_argument("--cache", default=os.environ.get("EARSHOT_WHISPER_CACHE",
                                                      os.path.expanduser("~/.cache/earshot/whisper")))
    ap.add_argument("--earshot", default=None, help="Earshot CLI binary; omit to run faster-whisper only")
    ap.add_argument("--earshot-model-root", default=None, help="default: --cache")
    ap.add_argument("--earshot-warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pipeline", choices=["greedy", "default"], default="greedy",
                    help="greedy: beam 1, no fallback, no timestamps (both engines); default: faster-whisper's defaults")
    ap.add_argument("--out", default=None, help="JSON results (default bench/results/fw-compare.json)")
    ap.add_argument("--markdown-out", default=None, help="also write the Markdown tables here")
    ap.add_argument("--reference-out", default=None,
                    help="write faster-whisper transcripts (and token ids) per model and compute type")
    ap.add_argument("--report-only", default=None, metavar="RESULTS_JSON",
                    help="print the tables of an earlier --out file and exit")
    args = ap.parse_args()
    settings = GREEDY if args.pipeline == "greedy" else PIPELINE_DEFAULT

    if args.report_only:
        with open(args.report_only, encoding="utf-8") as f:
            doc = json.load(f)
        for r in doc["results"]:
            for engine in ("faster_whisper", "earshot"):
                e = r.get(engine)
                if not e:
                    continue
                e["total_seconds_median"] = sum(f["seconds_median"] for f in e["files"].values())
                e["total_seconds_best"] = sum(min(f["seconds"]) for f in e["files"].values())
                e.setdefault("time_source", [])
            r.setdefault("loadavg_1_5_15", None)
        print(markdown(doc["results"]) + "\n" + "\n".join(per_file_markdown(r) for r in doc["results"]))
        return

    threads_list = [int(t) for t in str(args.threads).split(",") if t]
    # numpy's BLAS (the mel filter product) must not use more threads than the engines get.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var not in os.environ:
            os.environ[var] = str(max(threads_list))
            SET_BY_US.append(var)
    import numpy as np

    here = os.path.dirname(os.path.abspath(__file__))
    out_path = args.out or os.path.join(here, "results", "fw-compare.json")
    set_dir = find_set(args.set)
    names, refs, audio = load_set(set_dir, np)
    audio_seconds = {n: len(audio[n]) / 16000.0 for n in names}
    paths = [os.path.abspath(os.path.join(set_dir, n)) for n in names]
    models = [m for m in args.models.split(",") if m]
    precisions = [c for c in args.compute_types.split(",") if c]
    env = environment()
    print(f"# faster-whisper {env.get('faster_whisper')} / ctranslate2 {env.get('ctranslate2')}; "
          f"set {set_dir} ({len(names)} files, {sum(audio_seconds.values()):.1f} s audio); "
          f"repeat {args.repeat}", file=sys.stderr)

    results = []
    for model in models:
        model_dir = os.path.join(args.cache, model)
        if not os.path.isfile(os.path.join(model_dir, "model.bin")):
            sys.exit(f"compare-faster-whisper: {model_dir}/model.bin missing (scripts/fetch-whisper-models)")
        es_model_dir = os.path.join(args.earshot_model_root or args.cache, model)
        for precision in precisions:
            for threads in threads_list:
                load_before = os.getloadavg()
                t_load = time.perf_counter()
                fw = FasterWhisperRunner(model_dir, precision, threads, pipeline=settings)
                load_s = time.perf_counter() - t_load
                fw.transcribe(audio[names[0]])  # warm-up
                fw_runs, es_runs, es_errors = [], [], []
                for rep in range(args.repeat):
                    order = ["fw", "earshot"] if rep % 2 == 0 else ["earshot", "fw"]
                    for engine in order:
                        if engine == "fw":
                            fw_runs.append({n: fw.transcribe(audio[n]) for n in names})
                        elif args.earshot:
                            res = run_earshot(args.earshot, es_model_dir, precision, threads, paths,
                                              args.earshot_warmup, greedy=args.pipeline == "greedy")
                            if "error" in res:
                                es_errors.append(res)
                                print(f"earshot failed ({model} {precision}): {res['error'][:500]}",
                                      file=sys.stderr)
                            else:
                                es_runs.append(dict(zip(names, res["files"])))
                    print(f"  {model} {precision} {threads}t repetition {rep + 1}/{args.repeat} done",
                          file=sys.stderr)
                gaps = None
                if args.reference_out:
                    fw.collect_gaps = True
                    gaps = {n: fw.transcribe(audio[n])["windows"] for n in names}
                del fw
                entry = {"model": model, "precision": precision, "threads": threads,
                         "ctranslate2_backend": ct2_backend(model_dir, precision),
                         "faster_whisper_load_seconds": load_s,
                         "loadavg_1_5_15": {"before": list(load_before), "after": list(os.getloadavg())},
                         "faster_whisper": summarise(fw_runs, names, refs, audio_seconds)}
                if gaps is not None:
                    entry["faster_whisper_logit_gaps"] = {
                        n: [{"logit_gaps": w.get("logit_gaps"),
                             "logits_run_same_tokens": w.get("logits_run_same_tokens")} for w in ws]
                        for n, ws in gaps.items()}
                if args.earshot:
                    entry["earshot"] = summarise(es_runs, names, refs, audio_seconds)
                    if es_errors:
                        entry["earshot_errors"] = es_errors
                results.append(entry)

    report = markdown(results) + "\n" + "\n".join(per_file_markdown(r) for r in results)
    print(report)

    doc = {"tool": "bench/compare-faster-whisper.py", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "environment": env, "set": set_dir, "repeat": args.repeat, "earshot": args.earshot,
           "pipeline": args.pipeline, "settings": {**settings, **DEFAULTS}, "timing": {
               "faster_whisper": "perf_counter around transcribe() + consuming the segment generator; "
                                 "WAV read before the clock; model load excluded; 1 warm-up",
               "earshot": "timings.total_ms per file, else invocation wall time / files passed"},
           "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"\nwrote {out_path}", file=sys.stderr)
    if args.markdown_out:
        with open(args.markdown_out, "w", encoding="utf-8") as f:
            f.write(report + "\n")

    if args.reference_out:
        write_reference(args.reference_out, results, env, threads_list, names, audio)
        print(f"wrote {args.reference_out}", file=sys.stderr)


def feature_summary(names, audio):
    """faster-whisper's own log-mel for each file, summarised so another implementation can be
    checked against it: the 80 x 3000 window the encoder gets (features[:, :content_frames],
    zero-padded in the normalised domain), its sum and sum of squares, the log10 maximum used for
    the max-8 floor, and the first and last content frames in full."""
    import numpy as np
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()
    out = {}
    for n in names:
        x = audio[n]
        feats = fe(x)
        content = feats.shape[-1] - 1
        window = pad_or_trim(feats[:, :min(content, 3000)]).astype(np.float64)
        out[n] = {
            "samples": int(len(x)),
            "frames_total": int(feats.shape[-1]),
            "content_frames": int(content),
            "log10_max": float(feats.max()) * 4.0 - 4.0,
            "window_sum": float(window.sum()),
            "window_sum_squares": float((window * window).sum()),
            "first_frame": [float(v) for v in feats[:, 0]],
            "last_content_frame": [float(v) for v in feats[:, content - 1]],
        }
    return out


def write_reference(path, results, env, threads_list, names, audio):
    texts, tokens, prompts, diag, gaps = {}, {}, {}, {}, {}
    for r in results:
        if r["threads"] != threads_list[0]:
            continue
        fw = r["faster_whisper"]
        texts.setdefault(r["model"], {})[r["precision"]] = {n: f["text"] for n, f in fw["files"].items()}
        tokens.setdefault(r["model"], {})[r["precision"]] = {n: f["tokens"] for n, f in fw["files"].items()}
        for n, f in fw["files"].items():
            for w in f["windows"]:
                prompts[r["model"]] = w["prompt"]
        if "faster_whisper_logit_gaps" in r:
            gaps.setdefault(r["model"], {})[r["precision"]] = {
                n: [w["logit_gaps"] for w in ws] for n, ws in r["faster_whisper_logit_gaps"].items()}
        diag.setdefault(r["model"], {})[r["precision"]] = {
            n: [{k: w[k] for k in ("no_speech_prob", "avg_logprob", "dropped_as_no_speech")}
                for w in f["windows"]]
            for n, f in fw["files"].items()}
    doc = {
        "faster_whisper": env.get("faster_whisper"),
        "ctranslate2": env.get("ctranslate2"),
        "settings": {**GREEDY, **DEFAULTS, "device": "cpu", "cpu_threads": threads_list[0],
                     "text": "concatenation of Segment.text over all segments, then strip()"},
        "models": texts,
        "tokens": tokens,
        "prompts": prompts,
        "windows": diag,
        "logit_gaps": gaps,
        "features": feature_summary(names, audio),
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
