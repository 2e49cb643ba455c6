#!/usr/bin/env python3
"""The model-switching experiment, through the Python binding.

Reproduces the workflow that leaked with the C++ runtime driven from Python: N iterations
alternating models, each one loading a model, transcribing, and closing it, with the Python
process's memory read from /proc/self/status (RSS, anonymous RSS, file RSS) and /proc/self/fd
before and after every step. Prints the table `earshot bench switch` prints. The reset variant
keeps every model loaded with one session each and replaces close/reload by a session reset.

    python python/examples/run_model_switch.py --models 0.6b=/ckpt/0.6b,1.7b=/ckpt/1.7b --iterations 100

Exits 1 when anonymous RSS (or RSS) after warm-up trends up by more than --max-trend-mb over the
switches (least squares, scaled to the number of switches after warm-up) or fds grew.
"""

from __future__ import annotations

import argparse
import array
import html
import json
import os
import sys
import time
import unicodedata
from pathlib import Path

import earshot

MB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO / "Tests" / "Fixtures" / "qwen3-asr-tiny" / "audio" / "fox.wav"


# ---------------------------------------------------------------------------------------- memory

FIELDS = ("rss", "anon", "file", "peak", "fds", "malloc_in_use")


def snapshot() -> tuple:
    """This process's memory, read by Python itself (not by the library), in FIELDS order."""
    rss = anon = file = peak = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:", "RssFile:", "VmHWM:")):
                key, value = line.split(":")[0], int(line.split()[1]) * 1024
                if key == "VmRSS":
                    rss = value
                elif key == "RssAnon":
                    anon = value
                elif key == "RssFile":
                    file = value
                else:
                    peak = value
    fds = len(os.listdir("/proc/self/fd")) - 1
    return rss, anon, file, peak, fds, earshot.memory_report()["malloc_in_use_bytes"]


class Log:
    """What a run records, in arrays allocated before its first iteration.

    Recording must not grow the heap it measures: a dict of snapshots per step costs ~2.5 KB of
    Python objects per switch, which is exactly the kind of steady creep the experiment looks for.
    Transcripts are kept once per distinct text (per model and clip), referenced by index.
    """

    def __init__(self, iterations: int, points: tuple, timings: tuple):
        self.iterations, self.points, self.timing_names = iterations, points, timings
        self.memory = array.array("q", bytes(8 * iterations * len(points) * len(FIELDS)))
        self.timings = {name: array.array("d", bytes(8 * iterations)) for name in timings}
        self.errors = array.array("q", bytes(8 * iterations * 2))   # (errors, reference words); -1: none
        self.text_index = array.array("q", bytes(8 * iterations))
        self.texts = {}   # (model, clip) -> [distinct texts]

    def snap(self, i: int, point: str) -> None:
        base = (i * len(self.points) + self.points.index(point)) * len(FIELDS)
        for k, v in enumerate(snapshot()):
            self.memory[base + k] = v

    def point(self, i: int, point: str) -> dict:
        base = (i * len(self.points) + self.points.index(point)) * len(FIELDS)
        return {f: self.memory[base + k] for k, f in enumerate(FIELDS)}

    def record(self, i: int, model: str, clip: tuple, text: str, times: dict) -> None:
        for name, value in times.items():
            self.timings[name][i] = value
        seen = self.texts.get((model, clip[0]))
        if seen is None:
            seen = self.texts[(model, clip[0])] = []
        if text not in seen:
            seen.append(text)
        self.text_index[i] = seen.index(text)
        e, n = word_errors(text, clip[2]) if clip[2] is not None else (-1, -1)
        self.errors[2 * i], self.errors[2 * i + 1] = e, n

    def steps(self, models: list, clips: list) -> list:
        """The run as one dict per iteration (built after the run, for reports and JSON)."""
        out, per_model = [], {}
        for i in range(self.iterations):
            name = models[i % len(models)][0]
            k = per_model.get(name, 0)
            per_model[name] = k + 1
            clip = clips[k % len(clips)]
            step = {"iteration": i, "model": name, "audio": clip[0],
                    "text": self.texts[(name, clip[0])][self.text_index[i]],
                    "word_errors": None if self.errors[2 * i] < 0 else (self.errors[2 * i], self.errors[2 * i + 1])}
            step.update({p: self.point(i, p) for p in self.points})
            step.update({t: self.timings[t][i] for t in self.timing_names})
            out.append(step)
        return out


def slope(values: list) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(values) / n
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / sum((i - mx) ** 2 for i in range(n))


# -------------------------------------------------------------------------------- word errors

def words(text: str) -> list:
    """Lowercase; keep letters, digits and apostrophes; everything else separates words."""
    kept = "".join(c if (unicodedata.category(c)[0] in "LN" or c == "'") else " " for c in text.lower())
    return [w for w in kept.split() if w.strip("'")]


def word_errors(hypothesis: str, reference: str) -> tuple:
    """(substitutions + deletions + insertions, reference words)."""
    h, r = words(hypothesis), words(reference)
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[len(h)], len(r)


# ------------------------------------------------------------------------------------- clips

def load_clips(args) -> list:
    """[(name, path, reference or None)]: the speech set's files, or the one clip."""
    if args.set:
        d = Path(args.set)
        entries = json.loads((d / "transcripts.json").read_text())["items"]
        return [(e["audio"], str(d / e["audio"]), e["text"]) for e in entries]
    clip = args.audio or str(DEFAULT_AUDIO)
    return [(Path(clip).name, clip, args.reference)]


# ------------------------------------------------------------------------------------- runs

def clip_for(i: int, models: list, clips: list) -> tuple:
    """Model i % len(models); its k-th use transcribes clip k % len(clips)."""
    return models[i % len(models)], clips[(i // len(models)) % len(clips)]


def run_switches(models, clips, args, progress) -> list:
    log = Log(args.iterations, ("before_load", "after_load", "after_transcribe", "after_unload"),
              ("load_ms", "unload_ms", "ttft_ms"))
    for i in range(args.iterations):
        (name, path), clip = clip_for(i, models, clips)
        log.snap(i, "before_load")
        t0 = time.perf_counter()
        model = earshot.Model(path, precision=args.precision)
        load_ms = (time.perf_counter() - t0) * 1000
        log.snap(i, "after_load")
        result = model.transcribe(clip[1], **args.options)
        log.snap(i, "after_transcribe")
        t0 = time.perf_counter()
        model.close()
        unload_ms = (time.perf_counter() - t0) * 1000
        log.snap(i, "after_unload")
        ttft = result.timings.get("ttft_ms", 0.0)
        log.record(i, name, clip, result.text, {"load_ms": load_ms, "unload_ms": unload_ms, "ttft_ms": ttft})
        after = log.point(i, "after_unload")
        progress(f"switch {i + 1}/{args.iterations}  {name}  RSS {log.point(i, 'after_transcribe')['rss'] / MB:.1f} MB"
                 f"  anon {after['anon'] / MB:.1f} MB  fds {after['fds']}  load {load_ms:.0f} ms  ttft {ttft:.0f} ms")
    return log.steps(models, clips)


def run_resets(models, clips, args, progress) -> list:
    """Every model loaded once with one session; each iteration resets the next model's session."""
    loaded = [earshot.Model(path, precision=args.precision) for _, path in models]
    sessions = [m.session() for m in loaded]
    log = Log(args.iterations, ("before", "after"), ("reset_ms", "ttft_ms"))
    try:
        for i in range(args.iterations):
            (name, _), clip = clip_for(i, models, clips)
            session = sessions[i % len(sessions)]
            log.snap(i, "before")
            t0 = time.perf_counter()
            session.reset()
            reset_ms = (time.perf_counter() - t0) * 1000
            result = session.transcribe(clip[1], **args.options)
            log.snap(i, "after")
            ttft = result.timings.get("ttft_ms", 0.0)
            log.record(i, name, clip, result.text, {"reset_ms": reset_ms, "ttft_ms": ttft})
            after = log.point(i, "after")
            progress(f"reset {i + 1}/{args.iterations}  {name}  RSS {after['rss'] / MB:.1f} MB  "
                     f"anon {after['anon'] / MB:.1f} MB  fds {after['fds']}  ttft {ttft:.0f} ms")
    finally:
        for s in sessions:
            s.close()
        for m in loaded:
            m.close()
    return log.steps(models, clips)


# ----------------------------------------------------------------------------------- reports

def table(header: list, rows: list) -> str:
    cells = [header] + rows
    widths = [max(3, *(len(r[c]) for r in cells)) for c in range(len(header))]

    def line(r):
        return "| " + " | ".join(v.ljust(widths[c]) if c == 0 else v.rjust(widths[c]) for c, v in enumerate(r)) + " |"
    rule = "|" + "|".join("-" * (w + 2) if c == 0 else "-" * (w + 1) + ":" for c, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def signed(v: float, d: int) -> str:
    text = f"{v:.{d}f}"
    if text.lstrip("-").strip("0.") == "":
        return f"{0:.{d}f}"
    return ("+" if v > 0 else "") + text


class ModelRuns:
    """One model's steps of a run, for the per-model rows of a report."""

    def __init__(self, steps: list):
        self.steps = steps

    def avg(self, f) -> float:
        return sum(f(s) for s in self.steps) / max(len(self.steps), 1)

    def wer(self) -> str:
        """Word errors over all reference words of the run, in percent."""
        counts = [s["word_errors"] for s in self.steps if s["word_errors"] is not None]
        refs = sum(c[1] for c in counts)
        return f"{100 * sum(c[0] for c in counts) / refs:.2f}" if refs else "n/a"

    def varying(self) -> str:
        """Clips transcribed differently at different iterations (greedy decoding: should be 0)."""
        texts = {}
        for s in self.steps:
            texts.setdefault(s["audio"], set()).add(s["text"])
        return str(sum(len(t) > 1 for t in texts.values()))


def print_report(steps: list, summary: dict, unit: str, rows: list, overall_title: str) -> None:
    """The per-model table (count, `rows`, TTFT, WER, varying transcripts) and the overall one."""
    order = list(dict.fromkeys(s["model"] for s in steps))
    runs = {m: ModelRuns([s for s in steps if s["model"] == m]) for m in order}
    rows = [("Switches" if unit == "switch" else "Resets", lambda r: str(len(r.steps)))] + rows + [
        ("Avg TTFT (ms)", lambda r: f"{r.avg(lambda s: s['ttft_ms']):.1f}"),
        ("WER over the run (%)", ModelRuns.wer),
        ("Clips with varying transcripts", ModelRuns.varying),
    ]
    print(table(["Metric"] + order, [[label] + [value(runs[m]) for m in order] for label, value in rows]))
    print()
    print(table([overall_title, "Value"], overall_rows(summary, unit)))


def memory_summary(first: dict, afters: list, warm_up: float) -> dict:
    """Growth and least-squares trends of the snapshots taken after each iteration (`afters`),
    from `first` (before the first one); the first `warm_up` fraction is left out of the trends."""
    skip = int(len(afters) * warm_up)
    settled = afters[skip:]
    last = afters[-1]
    rss_slope = slope([a["rss"] / MB for a in settled])
    anon_slope = slope([a["anon"] / MB for a in settled])
    return {"iterations": len(afters), "warm_up": skip, "rss_initial_mb": first["rss"] / MB,
            "rss_final_mb": last["rss"] / MB, "total_growth_mb": (last["rss"] - first["rss"]) / MB,
            "growth_after_warm_up_mb": (last["rss"] - (afters[skip - 1] if skip else first)["rss"]) / MB,
            "rss_slope_mb": rss_slope, "anon_slope_mb": anon_slope,
            "rss_trend_mb": rss_slope * max(len(settled) - 1, 0), "anon_trend_mb": anon_slope * max(len(settled) - 1, 0),
            "anon_initial_mb": first["anon"] / MB, "anon_final_mb": last["anon"] / MB,
            "peak_mb": max(a["peak"] for a in [first] + afters) / MB, "fds_start": first["fds"], "fds_end": last["fds"],
            "malloc_start_mb": first["malloc_in_use"] / MB, "malloc_end_mb": last["malloc_in_use"] / MB}


def overall_rows(s: dict, unit: str) -> list:
    """The overall table of `earshot bench switch`, per `unit` (switch or reset)."""
    return [
        ["Switches (warm-up)" if unit == "switch" else "Resets (warm-up)", f"{s['iterations']} ({s['warm_up']})"],
        ["Initial RSS (MB)", f"{s['rss_initial_mb']:.1f}"],
        ["Final RSS (MB)", f"{s['rss_final_mb']:.1f}"],
        ["Total growth (MB)", signed(s["total_growth_mb"], 1)],
        [f"Growth per {unit} (MB)", signed(s["total_growth_mb"] / max(s["iterations"], 1), 3)],
        ["Growth after warm-up (MB)", signed(s["growth_after_warm_up_mb"], 1)],
        [f"RSS slope after warm-up (MB/{unit})", signed(s["rss_slope_mb"], 4)],
        [f"RSS anon slope after warm-up (MB/{unit})", signed(s["anon_slope_mb"], 4)],
        ["RSS anon trend after warm-up (MB)", signed(s["anon_trend_mb"], 3)],
        ["RSS anon start / end (MB)", f"{s['anon_initial_mb']:.1f} / {s['anon_final_mb']:.1f}"],
        ["Peak RSS (MB)", f"{s['peak_mb']:.1f}"],
        ["Open fds start / end", f"{s['fds_start']} / {s['fds_end']}"],
        ["malloc in use start / end (MB)", f"{s['malloc_start_mb']:.1f} / {s['malloc_end_mb']:.1f}"],
    ]


def print_switch_report(steps: list, summary: dict) -> None:
    def growth(a, b):
        return lambda r: r.avg(lambda s: (s[a]["rss"] - s[b]["rss"]) / MB)
    print_report(steps, summary, "switch", [
        ("Avg load overhead (MB)", lambda r: f"{growth('after_load', 'before_load')(r):.1f}"),
        ("Avg unload release (MB)", lambda r: f"{growth('after_transcribe', 'after_unload')(r):.1f}"),
        ("Avg net growth per switch (MB)", lambda r: signed(growth("after_unload", "before_load")(r), 1)),
        ("Avg load (ms)", lambda r: f"{r.avg(lambda s: s['load_ms']):.1f}"),
    ], "Overall")


def print_reset_report(steps: list, summary: dict) -> None:
    def growth(r):
        return r.avg(lambda s: (s["after"]["rss"] - s["before"]["rss"]) / MB)

    def settled(r):
        return ModelRuns([s for s in r.steps if s["iteration"] >= summary["warm_up"]])
    print_report(steps, summary, "reset", [
        ("Avg reset (ms)", lambda r: f"{r.avg(lambda s: s['reset_ms']):.3f}"),
        ("Avg net growth per reset (MB)", lambda r: signed(growth(r), 3)),
        ("  after warm-up (MB)", lambda r: signed(growth(settled(r)), 4)),
    ], "Overall (reset variant)")


def svg_plot(series: dict, title: str) -> str:
    """A line plot of MB per iteration from 0 MB up, one line per named series (point 0: before
    the first iteration)."""
    w, h, left, bottom, top, right = 760, 360, 60, 40, 40, 170
    hi = max(v for vs in series.values() for v in vs) * 1.1 or 1.0
    n = max(len(vs) for vs in series.values())
    x = lambda i: left + (w - left - right) * i / max(n - 1, 1)  # noqa: E731
    y = lambda v: top + (h - top - bottom) * (1 - v / hi)  # noqa: E731
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{left}" y="20" font-size="14">{html.escape(title)}</text>',
             f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">iteration ({n - 1})</text>']
    for k in range(5):
        v = hi * k / 4
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{w - right}" y2="{y(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 5}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f} MB</text>')
    for k, (name, vs) in enumerate(series.items()):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs))
        c = colors[k % len(colors)]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{pts}"/>')
        parts.append(f'<text x="{w - right + 10}" y="{top + 16 * k + 10}" fill="{c}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def plot_series(steps: list, first: str, after: str) -> dict:
    """RSS and anonymous RSS before the first iteration, then after each."""
    return {label: [steps[0][first][key] / MB] + [st[after][key] / MB for st in steps]
            for label, key in (("RSS", "rss"), ("anonymous RSS", "anon"))}


# -------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", required=True, help="comma-separated name=dir (or dir) used in turn")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--mode", choices=["switch", "reset", "both"], default="both")
    p.add_argument("--audio", help="clip to transcribe (default: the bundled fox.wav)")
    p.add_argument("--reference", help="what the clip says, for WER")
    p.add_argument("--set", help="speech set directory (transcripts.json + audio): cycle through it, with WER")
    p.add_argument("--language", help="force the language (e.g. English or en)")
    p.add_argument("--max-tokens", type=int, default=32, help="generated tokens per transcription (random weights never stop)")
    p.add_argument("--precision", help="native (default), f32, q8 or q4")
    p.add_argument("--threads", type=int, help="compute threads (default: all cores)")
    p.add_argument("--warm-up", type=float, default=0.2, help="fraction of iterations excluded from the slopes")
    p.add_argument("--max-trend-mb", type=float, default=1.0,
                   help="fail when anonymous RSS (or RSS) trends up more than this over the iterations after warm-up")
    p.add_argument("--json", help="write every step and the summaries here")
    p.add_argument("--plot", help="write an SVG plot of RSS and anonymous RSS per iteration here (and NAME-reset.svg)")
    args = p.parse_args(argv)

    models = []
    for item in args.models.split(","):
        name, _, path = item.partition("=") if "=" in item else (Path(item).name, "", item)
        models.append((name, path))
    if args.threads:
        earshot.set_threads(args.threads)
    args.options = {"language": args.language, "max_tokens": args.max_tokens,
                    "loop_guard_repeats": 0 if not args.set else None}
    clips = load_clips(args)
    tty = sys.stderr.isatty()

    def progress(line, count=[0]):
        count[0] += 1
        if tty:
            sys.stderr.write("\r" + line.ljust(110))
        elif count[0] == 1 or count[0] % 10 == 0:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    print(f"earshot {earshot.version()} from Python {sys.version.split()[0]}: "
          f"{' / '.join(n for n, _ in models)}, {args.iterations} iterations, clip: "
          f"{'each file of ' + args.set if args.set else (args.audio or DEFAULT_AUDIO.name)}\n")
    ok, out = True, {"command": " ".join(sys.argv), "models": dict(models), "iterations": args.iterations}
    if args.mode in ("switch", "both"):
        steps = run_switches(models, clips, args, progress)
        if tty:
            sys.stderr.write("\n")
        s = memory_summary(steps[0]["before_load"], [st["after_unload"] for st in steps], args.warm_up)
        print("Load, transcribe, close:\n")
        print_switch_report(steps, s)
        out["switch"] = {"summary": s, "steps": steps}
        if max(s["anon_trend_mb"], s["rss_trend_mb"]) > args.max_trend_mb or s["fds_end"] > s["fds_start"]:
            print(f"\nFAIL: anonymous RSS trend {s['anon_trend_mb']:+.3f} MB, RSS trend {s['rss_trend_mb']:+.3f} MB "
                  f"(limit {args.max_trend_mb} MB); fds {s['fds_start']} -> {s['fds_end']}", file=sys.stderr)
            ok = False
        if args.plot:
            Path(args.plot).write_text(svg_plot(plot_series(steps, "before_load", "after_unload"),
                                                f"Python: load / transcribe / close, {' <-> '.join(n for n, _ in models)}"))
    if args.mode in ("reset", "both"):
        print()
        steps = run_resets(models, clips, args, progress)
        if tty:
            sys.stderr.write("\n")
        s = memory_summary(steps[0]["before"], [st["after"] for st in steps], args.warm_up)
        print("Session reset instead of close/reload (every model loaded once):\n")
        print_reset_report(steps, s)
        out["reset"] = {"summary": s, "steps": steps}
        if args.plot:
            plot = Path(args.plot)
            plot.with_name(plot.stem + "-reset" + plot.suffix).write_text(svg_plot(
                plot_series(steps, "before", "after"),
                f"Python: session reset + transcribe, {' / '.join(n for n, _ in models)} loaded"))
        if max(s["anon_trend_mb"], s["rss_trend_mb"]) > args.max_trend_mb or s["fds_end"] > s["fds_start"]:
            print(f"\nFAIL (reset): anonymous RSS trend {s['anon_trend_mb']:+.3f} MB; fds {s['fds_start']} -> "
                  f"{s['fds_end']}", file=sys.stderr)
            ok = False
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
