#!/usr/bin/env python3
"""Driver for bench/compare-chatllm.sh: the chatllm.cpp side and the report.

Subcommands
  checkpoint-view SRC OUT      a directory chatllm's convert.py accepts for SRC (symlinks + a filled config.json)
  chatllm ...                  one chatllm.cpp process: load, warm-up request(s), one timed request
  report ...                   Markdown table + JSON: Earshot vs chatllm.cpp, medians and ratios

Why a checkpoint view
  Earshot's random checkpoints (`earshot make-random-checkpoint`) carry an abbreviated config.json.
  transformers' serialization of the same model (see Tests/Fixtures/qwen3-asr-tiny/model/config.json)
  also holds three keys that chatllm's convert.py and its loader read without a fallback:
    thinker_config.text_config.rope_scaling.mrope_interleaved   (= rope_scaling.interleaved)
    thinker_config.audio_config.num_hidden_layers                (= audio_config.encoder_layers)
    thinker_config.audio_config.conv_chunksize                   (transformers' default, 500)
  The view holds symlinks to every file of SRC and a config.json with exactly those keys added when
  missing (nothing else changes; the weights are the same files). The checkpoint is never modified.

How the chatllm.cpp side is measured (one process per run, so VmHWM is that run's alone)
  chatllm's `main` binary routes ASR models to a loop that prints the transcript and no timings, so
  the driver uses chatllm's own shared library (target `libchatllm`: src/main.cpp built with
  CHATLLM_SHARED_LIB, the same front end `main` uses) through its public C API with ctypes:
  chatllm_create / chatllm_append_param (the same options as `main`: -m BIN -n T -t 0 --max_new_tokens
  N --multimedia_file_tags {{ }}) / chatllm_start / chatllm_user_input("{{audio:CLIP}}") /
  chatllm_show_statistics. `-t 0` is temperature 0 (greedy); threads are `-n`.

  Inside one request chatllm does, in order (src/main.cpp, src/models.cpp, models/qwen.cpp at the
  pinned commit):
    front end  : history encoding: `ffmpeg` subprocess decodes the file to 16 kHz f32, log-mel,
                 prompt tokenization                                              (not timed by chatllm)
    generate() : performance->Reset(); before_generate() runs the audio encoder; forward 1 = the LLM
                 prefill over the prompt; "prompt eval time" is accumulated here (Reset -> logits of
                 forward 1) = audio encoder + prefill.
                 Then sampling of token 1, N-1 decode forwards, N samplings; "eval time" covers
                 exactly that span and counts N-1 tokens.
  Reported per timed request:
    encoder_prefill_ms = chatllm's "prompt eval time" (delta over the timed request)
    decode tok/s       = chatllm's "eval time": (N-1) tokens / ms, the same definition as Earshot's
                         (tokens after the first / time from the first token to the last)
    request_ttft_ms    = wall clock from the chatllm_user_input call to its return, minus "eval time":
                         front end + encoder + prefill (+ the sub-millisecond tail after the last token)
    ffmpeg_ms          = the exact ffmpeg command chatllm runs, timed alone on the same clip
                         (median of 3, after the timed request)
    ttft_ms            = request_ttft_ms - ffmpeg_ms: TTFT with the audio already decoded, as Earshot's
                         TTFT is (`earshot bench speed` reads the WAV before its clock starts, then times
                         log-mel + encoder + prefill + argmax of token 1)
    first_chunk_ms     = wall clock to the first streamed text chunk. Recorded, not used: in the trial
                         (random weights) chatllm's text reached the callback only at the end of the
                         request, so it says nothing about the first token.
    prompt tokens      = chatllm's "prompt eval" count. chatllm leaves the system turn out when the
                         system prompt is empty (qwen v1 ChatHistoryEncoder::append_sys_prompt), so its
                         prompt is 5 tokens shorter than the published chat template's (114 vs 119 for
                         8 s); the audio part (104 tokens) is the same.
    generated tokens   = "eval" tokens + 1; chatllm has no min_new_tokens, so a random-weight model
                         could stop early on an end token: the count is checked and reported.
  Peak RSS = VmHWM of the driver process after the timed request (Python + ctypes baseline included;
  the baseline VmRSS before loading the library is recorded as python_baseline_rss_bytes).
"""

import argparse
import ctypes
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

MB = 1e6  # decimal MB, as Earshot's speed report


# ---------------------------------------------------------------------------------------------
# checkpoint-view

FILLED_KEYS = (
    ("thinker_config.text_config.rope_scaling.mrope_interleaved", "rope_scaling.interleaved"),
    ("thinker_config.audio_config.num_hidden_layers", "audio_config.encoder_layers"),
    ("thinker_config.audio_config.conv_chunksize", "transformers default 500"),
)


def checkpoint_view(a):
    src = os.path.abspath(a.src)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name == "config.json":
            continue
        link = os.path.join(out, name)
        target = os.path.join(src, name)
        if os.path.islink(link) or os.path.exists(link):
            if os.path.islink(link) and os.readlink(link) == target:
                continue
            os.remove(link)
        os.symlink(target, link)
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    thinker = cfg["thinker_config"]
    text, audio = thinker["text_config"], thinker["audio_config"]
    added = []
    rope = text.get("rope_scaling") or {}
    if "mrope_interleaved" not in rope:
        rope["mrope_interleaved"] = bool(rope.get("interleaved", True))
        text["rope_scaling"] = rope
        added.append(FILLED_KEYS[0][0])
    if "num_hidden_layers" not in audio:
        audio["num_hidden_layers"] = int(audio["encoder_layers"])
        added.append(FILLED_KEYS[1][0])
    if "conv_chunksize" not in audio:
        audio["conv_chunksize"] = 500
        added.append(FILLED_KEYS[2][0])
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    print("checkpoint view %s: added %s" % (out, ", ".join(added) if added else "nothing"), file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# chatllm

PRINT_CHAT_CHUNK = 0
PRINTLN_META = 1
PRINTLN_ERROR = 2

TIMING_RE = re.compile(r"timings:\s*(prompt eval|eval|total) time\s*=\s*([0-9.]+) ms /\s*([0-9]+) tokens")


def proc_status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class ChatllmLib:
    """The few entry points of libchatllm this driver needs, and its callbacks."""

    PRINT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
    END = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.chatllm_create.restype = ctypes.c_void_p
        L.chatllm_create.argtypes = []
        L.chatllm_append_param.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        L.chatllm_start.argtypes = [ctypes.c_void_p, self.PRINT, self.END, ctypes.c_void_p]
        L.chatllm_start.restype = ctypes.c_int
        L.chatllm_user_input.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        L.chatllm_user_input.restype = ctypes.c_int
        L.chatllm_restart.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        L.chatllm_show_statistics.argtypes = [ctypes.c_void_p]
        self.chunks = []        # (perf_counter, text) of the current request
        self.meta = []          # PRINTLN_META lines since the last clear
        self.errors = []
        self.first_chunk_t = None
        # keep the callback objects alive as long as the library may call them
        self._print_cb = self.PRINT(self._on_print)
        self._end_cb = self.END(self._on_end)
        self.obj = L.chatllm_create()

    def _on_print(self, _user, kind, text):
        s = (text or b"").decode("utf-8", errors="replace")
        if kind == PRINT_CHAT_CHUNK:
            if self.first_chunk_t is None:
                self.first_chunk_t = time.perf_counter()
            self.chunks.append(s)
        elif kind == PRINTLN_META:
            self.meta.append(s)
        elif kind == PRINTLN_ERROR:
            self.errors.append(s)

    def _on_end(self, _user):
        pass

    def start(self, params):
        for p in params:
            self.lib.chatllm_append_param(self.obj, p.encode())
        return self.lib.chatllm_start(self.obj, self._print_cb, self._end_cb, None)

    def statistics(self):
        """chatllm's cumulative counters: {kind: (ms, tokens)} for 'prompt eval' and 'eval'."""
        self.meta = []
        self.lib.chatllm_show_statistics(self.obj)
        found = {}
        for line in self.meta:
            m = TIMING_RE.search(line)
            if m:
                found[m.group(1)] = (float(m.group(2)), int(m.group(3)))
        return found, list(self.meta)

    def request(self, text):
        self.chunks = []
        self.first_chunk_t = None
        t0 = time.perf_counter()
        rc = self.lib.chatllm_user_input(self.obj, text.encode())
        t1 = time.perf_counter()
        return rc, t0, t1

    def restart(self):
        self.lib.chatllm_restart(self.obj, None)


def ffmpeg_command(clip, rate=16000):
    # The command chatllm's audio::load (src/audio_process.cpp) opens with popen, verbatim.
    return ('ffmpeg -nostdin -threads 0 -i "%s" -f f32le -ac 1 -ar %d -hide_banner -loglevel error -'
            % (clip, rate))


def time_ffmpeg(clip, repeats=3):
    cmd = ffmpeg_command(clip)
    times, nbytes = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - t0) * 1000)
        if p.returncode != 0:
            raise SystemExit("ffmpeg failed on %s: %s" % (clip, p.stderr.decode(errors="replace")))
        nbytes = len(p.stdout)
    return statistics.median(times), times, nbytes // 4


def run_chatllm(a):
    baseline_rss = proc_status_bytes("VmRSS")
    clip = os.path.abspath(a.audio)
    lib = ChatllmLib(a.lib)
    params = ["-m", a.model, "-n", str(a.threads), "-t", "0", "--max_new_tokens", str(a.max_tokens),
              "--multimedia_file_tags", "{{", "}}"]
    t_load = time.perf_counter()
    rc = lib.start(params)
    load_ms = (time.perf_counter() - t_load) * 1000
    if rc != 0:
        raise SystemExit("chatllm_start failed (%d): %s" % (rc, "; ".join(lib.errors) or "no message"))
    prompt = "{{audio:%s}}" % clip

    def one_request():
        before, _ = lib.statistics()
        rc, t0, t1 = lib.request(prompt)
        if rc != 0 or lib.errors:
            raise SystemExit("chatllm_user_input failed (%d): %s" % (rc, "; ".join(lib.errors) or "no message"))
        after, meta = lib.statistics()
        for k in ("prompt eval", "eval"):
            if k not in after:
                raise SystemExit("chatllm printed no '%s time' line; statistics were: %r" % (k, meta))

        def delta(k):
            ms0, n0 = before.get(k, (0.0, 0))
            ms1, n1 = after[k]
            return (ms1 - ms0, n1 - n0) if (ms1 >= ms0 and n1 >= n0) else (ms1, n1)

        p_ms, p_tok = delta("prompt eval")
        e_ms, e_tok = delta("eval")
        wall_ms = (t1 - t0) * 1000
        first = (lib.first_chunk_t - t0) * 1000 if lib.first_chunk_t is not None else None
        text = "".join(lib.chunks)
        lib.restart()
        return {
            "wall_ms": wall_ms,
            "encoder_prefill_ms": p_ms,
            "prompt_tokens": p_tok,
            "decode_ms": e_ms,
            "decode_tokens": e_tok,
            "generated_tokens": e_tok + 1,
            "decode_tokens_per_second": (e_tok / e_ms * 1000) if e_ms > 0 else 0.0,
            "request_ttft_ms": wall_ms - e_ms,
            "first_chunk_ms": first,
            "text": text,
            "statistics_lines": meta,
        }

    for _ in range(a.warmup):
        one_request()
    r = one_request()
    peak = proc_status_bytes("VmHWM")
    rss_after = proc_status_bytes("VmRSS")
    ff_ms, ff_all, ff_samples = time_ffmpeg(clip)
    r.update({
        "ffmpeg_ms": ff_ms,
        "ffmpeg_ms_all": ff_all,
        "audio_samples": ff_samples,
        "ttft_ms": r["request_ttft_ms"] - ff_ms,
        "peak_rss_bytes": peak,
        "rss_after_bytes": rss_after,
        "python_baseline_rss_bytes": baseline_rss,
        "load_ms": load_ms,
        "threads": a.threads,
        "max_tokens": a.max_tokens,
        "warmup": a.warmup,
        "params": params,
        "prompt": prompt,
        "ffmpeg_command": ffmpeg_command(clip),
        "library": os.path.abspath(a.lib),
        "model": os.path.abspath(a.model),
        "audio": clip,
        "loadavg_after": _loadavg(),
    })
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=2)
    print("chatllm: TTFT %.1f ms (request %.1f - ffmpeg %.1f; encoder+prefill %.1f over %d prompt tokens), "
          "decode %.2f tok/s (%d tokens), peak RSS %.1f MB"
          % (r["ttft_ms"], r["request_ttft_ms"], ff_ms, r["encoder_prefill_ms"], r["prompt_tokens"],
             r["decode_tokens_per_second"], r["generated_tokens"], peak / MB), file=sys.stderr)
    for line in r["statistics_lines"]:
        print("chatllm:   " + line, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # chatllm's teardown can abort (seen with `main`: "free(): invalid pointer" at exit); the
    # results are written, so leave without running destructors.
    os._exit(0)


def _loadavg():
    try:
        return os.getloadavg()
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# report


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".1f"):
    return "n/a" if v is None else format(v, spec)


def ratio(x, y):
    return None if (x is None or y is None or y == 0) else x / y


def report(a):
    chat = []
    for p in a.chatllm:
        with open(p, encoding="utf-8") as f:
            chat.append(json.load(f))
    earshot = []
    for p in a.earshot:
        with open(p, encoding="utf-8") as f:
            earshot.append(json.load(f))

    def e_ms(d, key):
        v = d.get(key)
        return v.get("median") if isinstance(v, dict) else v

    es = {
        "ttft_ms": med([e_ms(d, "ttft_ms") for d in earshot]),
        "encoder_ms": med([e_ms(d, "encoder_ms") for d in earshot]),
        "prefill_ms": med([e_ms(d, "prefill_ms") for d in earshot]),
        "encoder_prefill_ms": med([(e_ms(d, "encoder_ms") or 0) + (e_ms(d, "prefill_ms") or 0) for d in earshot]),
        "decode_tokens_per_second": med([e_ms(d, "decode_tokens_per_second") for d in earshot]),
        "peak_rss_mb": (max(d["peak_rss_bytes"] for d in earshot) / MB) if earshot else None,
        "generated_tokens": sorted({d.get("generated_tokens") for d in earshot}),
        "prompt_tokens": sorted({d.get("prompt_tokens") for d in earshot}),
        "runs": len(earshot),
    }
    cs = {
        "ttft_ms": med([d["ttft_ms"] for d in chat]),
        "request_ttft_ms": med([d["request_ttft_ms"] for d in chat]),
        "ffmpeg_ms": med([d["ffmpeg_ms"] for d in chat]),
        "first_chunk_ms": med([d.get("first_chunk_ms") for d in chat]),
        "encoder_prefill_ms": med([d["encoder_prefill_ms"] for d in chat]),
        "front_end_ms": med([d["ttft_ms"] - d["encoder_prefill_ms"] for d in chat]),
        "decode_tokens_per_second": med([d["decode_tokens_per_second"] for d in chat]),
        "peak_rss_mb": (max(d["peak_rss_bytes"] for d in chat) / MB) if chat else None,
        "python_baseline_rss_mb": (max(d["python_baseline_rss_bytes"] for d in chat) / MB) if chat else None,
        "generated_tokens": sorted({d["generated_tokens"] for d in chat}),
        "prompt_tokens": sorted({d["prompt_tokens"] for d in chat}),
        "runs": len(chat),
    }
    ratios = {
        "ttft": ratio(es["ttft_ms"], cs["ttft_ms"]),
        "encoder_prefill": ratio(es["encoder_prefill_ms"], cs["encoder_prefill_ms"]),
        "decode_tokens_per_second": ratio(es["decode_tokens_per_second"], cs["decode_tokens_per_second"]),
        "peak_rss": ratio(es["peak_rss_mb"], cs["peak_rss_mb"]),
    }

    lines = []
    lines.append("Qwen3-ASR 0.6B q8, %s threads, %s tokens, clip %s; medians over %d run(s) per engine "
                 "(each run: its own process, 1 warm-up request + 1 timed request)"
                 % (a.threads, a.max_tokens, os.path.basename(a.audio), max(cs["runs"], es["runs"])))
    lines.append("")
    lines.append("| engine | TTFT ms (median) | encoder+prefill ms | decode tok/s (median) | peak RSS MB |")
    lines.append("|---|---:|---:|---:|---:|")
    lines.append("| chatllm.cpp %s (q8_0) | %s | %s | %s | %s |" % (
        a.chatllm_commit[:10], fmt(cs["ttft_ms"]), fmt(cs["encoder_prefill_ms"]),
        fmt(cs["decode_tokens_per_second"], ".2f"), fmt(cs["peak_rss_mb"])))
    lines.append("| Earshot (q8) | %s | %s | %s | %s |" % (
        fmt(es["ttft_ms"]), fmt(es["encoder_prefill_ms"]), fmt(es["decode_tokens_per_second"], ".2f"),
        fmt(es["peak_rss_mb"])))
    lines.append("| **Earshot / chatllm** | %s | %s | %s | %s |" % (
        fmt(ratios["ttft"], ".2f"), fmt(ratios["encoder_prefill"], ".2f"),
        fmt(ratios["decode_tokens_per_second"], ".2f"), fmt(ratios["peak_rss"], ".2f")))
    lines.append("")
    lines.append("- chatllm TTFT = request wall time to token 1 (%s ms median, includes the ffmpeg decode of "
                 "the WAV) minus the same ffmpeg command timed alone (%s ms); of the rest, %s ms is its front "
                 "end (log-mel, tokenization) outside \"prompt eval\"."
                 % (fmt(cs["request_ttft_ms"]), fmt(cs["ffmpeg_ms"]), fmt(cs["front_end_ms"])))
    lines.append("- encoder+prefill: chatllm = its own \"prompt eval time\" (audio encoder + LLM prefill, "
                 "log-mel excluded); Earshot = encoder_ms + prefill_ms (its encoder_ms includes log-mel). "
                 "decode: chatllm \"eval time\" and Earshot decode_tokens_per_second, both N-1 tokens over "
                 "token 1 -> token N.")
    if cs["first_chunk_ms"] is not None and cs["request_ttft_ms"] is not None:
        lines.append("- chatllm's first streamed text chunk arrived at %s ms (request wall time to the first "
                     "text callback; not used for TTFT: its streamer may hold text back)."
                     % fmt(cs["first_chunk_ms"]))
    lines.append("- Tokens generated: chatllm %s, Earshot %s; prompt tokens: chatllm %s, Earshot %s "
                 "(chatllm leaves out the empty system turn the published chat template writes)."
                 % (cs["generated_tokens"], es["generated_tokens"], cs["prompt_tokens"], es["prompt_tokens"]))
    lines.append("- Peak RSS = VmHWM; chatllm's includes the Python/ctypes driver (%s MB before the library "
                 "was loaded)." % fmt(cs["python_baseline_rss_mb"]))
    if any(g != a.max_tokens for g in cs["generated_tokens"] + es["generated_tokens"] if g is not None):
        lines.append("- WARNING: an engine did not generate exactly %s tokens (an end token?); decode "
                     "speeds are still per token but the runs are not the same length." % a.max_tokens)
    text = "\n".join(lines)
    print(text)

    if a.json:
        out = {
            "benchmark": "earshot vs chatllm.cpp, Qwen3-ASR 0.6B q8",
            "chatllm_commit": a.chatllm_commit,
            "threads": a.threads,
            "max_tokens": a.max_tokens,
            "audio": os.path.abspath(a.audio),
            "checkpoint": a.checkpoint,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "chatllm": {"summary": cs, "runs": chat},
            "earshot": {"summary": es, "runs": earshot},
            "ratios_earshot_over_chatllm": ratios,
            "markdown": text,
        }
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
        print("compare-chatllm: wrote %s" % a.json, file=sys.stderr)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("checkpoint-view")
    v.add_argument("src")
    v.add_argument("out")
    c = sub.add_parser("chatllm")
    c.add_argument("--lib", required=True, help="libchatllm.so")
    c.add_argument("--model", required=True, help="converted chatllm model (.bin)")
    c.add_argument("--audio", required=True)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--max-tokens", type=int, default=32)
    c.add_argument("--warmup", type=int, default=1)
    c.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--chatllm", action="append", default=[], help="JSON from the chatllm subcommand (repeat)")
    r.add_argument("--earshot", action="append", default=[], help="JSON from earshot bench speed (repeat)")
    r.add_argument("--chatllm-commit", default="")
    r.add_argument("--checkpoint", default="")
    r.add_argument("--audio", default="")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--max-tokens", type=int, default=32)
    r.add_argument("--json")
    a = ap.parse_args()
    if a.cmd == "checkpoint-view":
        checkpoint_view(a)
    elif a.cmd == "chatllm":
        run_chatllm(a)
    else:
        report(a)


if __name__ == "__main__":
    main()
