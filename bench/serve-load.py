#!/usr/bin/env python3
"""Load test for `earshot serve` (Python standard library only).

Starts the server itself (or uses a running one), sends N transcription requests from C concurrent
clients, alternating between models per request, and reports errors by HTTP status,
latency and TTFT percentiles, throughput, and how anonymous RSS grows after warm-up.

The measured run (2000 requests, 8 clients, tiny and micro alternating):

    swift build -c release --product earshot
    .build/release/earshot make-random-checkpoint --shape micro /tmp/earshot-micro
    bench/serve-load.py --bin .build/release/earshot \\
        --models tiny=Tests/Fixtures/qwen3-asr-tiny/model micro=/tmp/earshot-micro \\
        --clients 8 --requests 2000 --models-to-use tiny,micro \\
        --audio Tests/Fixtures/qwen3-asr-tiny/audio/fox.wav --warmup 100 --json /tmp/serve-load.json

Against a server that is already running (RSS then comes from GET /v1/memory):

    bench/serve-load.py --url http://127.0.0.1:8080 --clients 8 --requests 2000 --models-to-use tiny,micro

Options:
  --url URL | --bin PATH --models NAME=PATH ...   a running server, or start `PATH serve --models ...
                          --port 0 --host 127.0.0.1` (port read from its `earshot: listening on` line;
                          stopped with SIGTERM at the end, and it must exit 0). --server-arg ARG
                          (repeatable) adds serve options, e.g. --server-arg=--max-concurrency=2.
  --clients C             concurrent clients (default 8), each on one HTTP/1.1 connection that it reopens
                          whenever the server closes it (transcription responses carry Connection: close)
  --requests N            measured requests (default 2000); --warmup W more before them (default 100)
  --models-to-use A,B     model ids, request i uses model i mod count (default: all --models names)
  --audio FILE            the WAV sent every time (default: the fixture short.wav)
  --stream                stream=true; TTFT = time to the first transcript.text.delta event.
                          Otherwise TTFT is the server-reported value when the response has one.
  --response-format F     json (default) or verbose_json/text/srt/vtt (not with --stream)
  --sample-every K        RSS sample every K completed requests (default 100)
  --json OUT              write the whole report as JSON
  --max-errors E          exit 1 when more than E requests fail (default 0)
  --max-slope-mb-per-100 S   exit 1 when anonymous RSS grows faster than S MB per 100 requests
  --timeout S / --max-seconds S   per-request socket timeout (300) / bound on the whole run (3600)

What counts as an error: a status other than 200, a connection error, a body that does not parse,
a stream whose deltas do not join to its done text, or a transcript that differs from the reference
for that model (`PATH transcribe --json` with --bin; otherwise the first response for that model).
RSS: VmRSS and RssAnon from /proc/PID/status of the server when this script started it; otherwise
rss_bytes and rss_anon_bytes of GET /v1/memory. The slope is a least-squares fit of RssAnon against
the number of measured requests completed (samples from the end of warm-up on), in MB (2^20 bytes)
per 100 requests. Only loopback servers are accepted.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

MB = 1048576.0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- multipart/form-data ---------------------------------------------------------------------------

def encode_multipart(fields: list[tuple[str, str]], file_name: str, file_bytes: bytes,
                     file_type: str = "audio/wav") -> tuple[bytes, str]:
    """Body and Content-Type for text fields plus one `file` part (RFC 7578)."""
    boundary = "earshot-load-" + os.urandom(16).hex()
    assert boundary.encode() not in file_bytes
    chunks = []
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        chunks.append(value.encode("utf-8") + b"\r\n")
    chunks.append((f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                   f"Content-Type: {file_type}\r\n\r\n").encode())
    chunks.append(file_bytes + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


# --- the server ------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StartedServer:
    """`BIN serve --models ... --port 0 --host 127.0.0.1 [extra]`, logs in a temporary directory."""

    def __init__(self, binary: str, models: list[str], extra: list[str], start_timeout: float) -> None:
        self.logdir = tempfile.mkdtemp(prefix="earshot-serve-load-")
        self.stdout_path = os.path.join(self.logdir, "stdout")
        self.stderr_path = os.path.join(self.logdir, "stderr")
        command = [binary, "serve", "--models", *models, "--port", "0", "--host", "127.0.0.1", *extra]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.monotonic() + start_timeout
        prefix = "earshot: listening on "
        while True:
            with open(self.stdout_path, "r", errors="replace") as f:
                line = next((l.strip() for l in f if l.startswith(prefix)), None)
            if line is not None:
                self.url = line[len(prefix):]
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"serve-load: server exited ({self.proc.returncode}) before listening; "
                                 f"stderr: {self.tail(self.stderr_path)}")
            if time.monotonic() > deadline:
                self.kill()
                raise SystemExit(f"serve-load: no listening line within {start_timeout:.0f} s; "
                                 f"stderr: {self.tail(self.stderr_path)}")
            time.sleep(0.05)

    @staticmethod
    def tail(path: str, size: int = 2000) -> str:
        try:
            with open(path, "rb") as f:
                return f.read()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def memory(self) -> dict:
        values = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    values[key] = int(rest.split()[0]) * 1024
        return {"rss_bytes": values["VmRSS"], "rss_anon_bytes": values["RssAnon"]}

    def stop(self, timeout: float) -> int | None:
        """SIGTERM, then the exit status; None (and SIGKILL) when it does not exit within timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def remote_memory(host: str, port: int, headers: dict, timeout: float) -> dict:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/v1/memory", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET /v1/memory: HTTP {resp.status} {body[:200]!r}")
        report = json.loads(body)
        if "rss_bytes" not in report and isinstance(report.get("process"), dict):
            report = report["process"]
        return {"rss_bytes": int(report["rss_bytes"]), "rss_anon_bytes": int(report["rss_anon_bytes"])}
    finally:
        conn.close()


# --- statistics ------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    rank = (len(sorted_values) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def summary(values: list[float]) -> dict | None:
    if not values:
        return None
    s = sorted(values)
    return {"count": len(s), "p50": percentile(s, 50), "p95": percentile(s, 95), "p99": percentile(s, 99),
            "mean": sum(s) / len(s), "min": s[0], "max": s[-1]}


def least_squares_slope(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx = sum(xs) / len(xs)
    my = sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def server_ttft_ms(headers: http.client.HTTPMessage, body: object) -> float | None:
    """A TTFT the server reports, if any: a header, or a field of the JSON body."""
    for name in ("x-earshot-ttft-ms", "x-ttft-ms"):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                pass
    if isinstance(body, dict):
        for holder in (body, body.get("usage"), body.get("timings"), body.get("earshot")):
            if isinstance(holder, dict):
                if isinstance(holder.get("ttft_ms"), (int, float)):
                    return float(holder["ttft_ms"])
                if isinstance(holder.get("ttft_seconds"), (int, float)):
                    return float(holder["ttft_seconds"]) * 1000.0
    return None


# --- the load --------------------------------------------------------------------------------------

class CountingConnection(http.client.HTTPConnection):
    """Counts TCP connects: http.client reconnects by itself after a `Connection: close` response."""
    opened = 0
    _lock = threading.Lock()

    def connect(self) -> None:
        with CountingConnection._lock:
            CountingConnection.opened += 1
        super().connect()


class Outcome:
    __slots__ = ("ok", "error", "latency_ms", "ttft_ms", "text")

    def __init__(self, ok: bool, error: str | None = None, latency_ms: float = 0.0,
                 ttft_ms: float | None = None, text: str | None = None) -> None:
        self.ok, self.error, self.latency_ms, self.ttft_ms, self.text = ok, error, latency_ms, ttft_ms, text


def read_stream(resp: http.client.HTTPResponse, started: float) -> tuple[str | None, float | None, str | None]:
    """Reads SSE events to the end: (done text, ms to the first delta, error)."""
    deltas: list[str] = []
    done: str | None = None
    first_delta: float | None = None
    data_lines: list[str] = []
    while True:
        raw = resp.readline()
        if not raw:
            break
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith("data:"):
            data_lines.append(line[5:].lstrip(" ") if line.startswith("data: ") else line[5:])
            continue
        if line != "" or not data_lines:
            continue  # comments, event:/id: lines, stray blank lines
        payload = "\n".join(data_lines)
        data_lines = []
        if payload == "[DONE]":
            continue
        try:
            event = json.loads(payload)
        except ValueError:
            return None, first_delta, "bad-event"
        kind = event.get("type") if isinstance(event, dict) else None
        if done is not None:
            return None, first_delta, "event-after-done"
        if kind == "transcript.text.delta" and isinstance(event.get("delta"), str):
            if first_delta is None:
                first_delta = (time.perf_counter() - started) * 1000.0
            deltas.append(event["delta"])
        elif kind == "transcript.text.done" and isinstance(event.get("text"), str):
            done = event["text"]
        elif isinstance(event, dict) and "error" in event:
            return None, first_delta, "stream-error-event"
        else:
            return None, first_delta, "unknown-event"
    if done is None:
        return None, first_delta, "stream-without-done"
    if not deltas:
        return None, first_delta, "stream-without-delta"
    if "".join(deltas) != done:
        return None, first_delta, "deltas-differ-from-done"
    return done, first_delta, None


def text_of(body: bytes, response_format: str) -> tuple[str | None, object]:
    if response_format in ("json", "verbose_json"):
        parsed = json.loads(body)
        return (parsed.get("text") if isinstance(parsed, dict) else None), parsed
    return body.decode("utf-8"), None


class Load:
    def __init__(self, args, host: str, port: int, auth: dict, bodies: dict[str, tuple[bytes, str]],
                 reference: dict[str, str], sampler) -> None:
        self.args, self.host, self.port, self.auth = args, host, port, auth
        self.bodies, self.reference, self.sampler = bodies, reference, sampler
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + args.max_seconds

    def one(self, conn: http.client.HTTPConnection, model: str) -> Outcome:
        body, content_type = self.bodies[model]
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **self.auth}
        started = time.perf_counter()
        conn.request("POST", "/v1/audio/transcriptions", body=body, headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            resp.read()
            return Outcome(False, str(resp.status), (time.perf_counter() - started) * 1000.0)
        if self.args.stream:
            text, ttft, error = read_stream(resp, started)
            latency = (time.perf_counter() - started) * 1000.0
            if error:
                return Outcome(False, error, latency)
        else:
            raw = resp.read()
            latency = (time.perf_counter() - started) * 1000.0
            try:
                text, parsed = text_of(raw, self.args.response_format)
            except ValueError:
                return Outcome(False, "bad-body", latency)
            ttft = server_ttft_ms(resp.headers, parsed)
            if text is None:
                return Outcome(False, "no-text", latency)
        if self.args.response_format == "text" and not self.args.stream:
            text = text[:-1] if text.endswith("\n") else text
        with self.lock:
            want = self.reference.setdefault(model, text) if self.args.response_format in ("json", "verbose_json", "text") or self.args.stream else None
        if want is not None and text != want:
            return Outcome(False, "text-mismatch", latency)
        return Outcome(True, None, latency, ttft, text)

    def run(self, count: int, record: bool) -> dict:
        """`count` requests over args.clients threads; request i goes to model i mod len(models)."""
        models = self.args.models_to_use
        state = {"next": 0, "done": 0}
        latencies: dict[str, list[float]] = {m: [] for m in models}
        ttfts: list[float] = []
        errors: dict[str, int] = {}
        lock = threading.Lock()

        def worker() -> None:
            conn = CountingConnection(self.host, self.port, timeout=self.args.timeout)
            try:
                while True:
                    with lock:
                        i = state["next"]
                        if i >= count:
                            return
                        if time.monotonic() > self.deadline:
                            errors["not-run-deadline"] = errors.get("not-run-deadline", 0) + (count - i)
                            state["next"] = count
                            return
                        state["next"] = i + 1
                    model = models[i % len(models)]
                    try:
                        outcome = self.one(conn, model)
                    except (OSError, http.client.HTTPException) as err:
                        outcome = Outcome(False, f"connection:{type(err).__name__}")
                        conn.close()
                        conn = CountingConnection(self.host, self.port, timeout=self.args.timeout)
                    with lock:
                        state["done"] += 1
                        done = state["done"]
                        if outcome.ok:
                            latencies[model].append(outcome.latency_ms)
                            if outcome.ttft_ms is not None:
                                ttfts.append(outcome.ttft_ms)
                        else:
                            errors[outcome.error] = errors.get(outcome.error, 0) + 1
                    if record and done % self.args.sample_every == 0:
                        self.sampler.request(done)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.args.clients)]
        started = time.perf_counter()
        opened_before = CountingConnection.opened
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        return {"latencies": latencies, "ttfts": ttfts, "errors": errors, "wall": wall, "completed": state["done"],
                "connections": CountingConnection.opened - opened_before}


class Sampler:
    """Takes RSS samples on a thread of its own, so that no client waits for one."""

    def __init__(self, read) -> None:
        self.read = read
        self.samples: list[dict] = []
        self.failures: list[str] = []
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.started = time.monotonic()
        self.thread.start()

    def loop(self) -> None:
        while True:
            x = self.queue.get()
            if x is None:
                return
            self.take(x)

    def take(self, x: int) -> None:
        try:
            memory = self.read()
        except Exception as err:  # noqa: BLE001 - report, keep the load going
            self.failures.append(f"after {x} requests: {err}")
            return
        self.samples.append({"requests": x, "seconds": round(time.monotonic() - self.started, 3), **memory})

    def request(self, x: int) -> None:
        self.queue.put(x)

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()


# --- main ------------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See the header of this file for the exact commands.")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8080")
    target.add_argument("--bin", help="earshot binary: start `BIN serve --models ...` with --port 0")
    parser.add_argument("--models", nargs="+", default=[], metavar="NAME=PATH", help="with --bin: the served models")
    parser.add_argument("--server-arg", action="append", default=[], help="with --bin: one more serve option")
    parser.add_argument("--api-key", default=os.environ.get("EARSHOT_API_KEY"), help="Bearer key, if the server wants one")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--models-to-use", help="comma-separated model ids (default: the --models names)")
    parser.add_argument("--audio", default=os.path.join(REPO, "Tests/Fixtures/qwen3-asr-tiny/audio/short.wav"))
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--response-format", default="json", choices=["json", "verbose_json", "text", "srt", "vtt"])
    parser.add_argument("--sample-every", type=int, default=100)
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--max-errors", type=int, default=0)
    parser.add_argument("--max-slope-mb-per-100", type=float)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument("--stop-timeout", type=float, default=60.0)
    args = parser.parse_args()
    if args.bin and not args.models:
        parser.error("--bin needs --models NAME=PATH ...")
    if args.url and (args.models or args.server_arg):
        parser.error("--models and --server-arg go with --bin, not --url")
    if args.models_to_use:
        args.models_to_use = [m for m in args.models_to_use.split(",") if m]
    elif args.models:
        args.models_to_use = [m.split("=", 1)[0] for m in args.models]
    else:
        parser.error("--models-to-use is required with --url")
    if args.stream and args.response_format != "json":
        parser.error("--stream goes with the default response format")
    for name in ("clients", "requests", "sample_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    return args


def cli_reference(binary: str, models: list[str], use: list[str], audio: str) -> dict[str, str]:
    paths = dict(m.split("=", 1) for m in models if "=" in m)
    reference = {}
    for name in use:
        if name not in paths:
            continue
        proc = subprocess.run([binary, "transcribe", "--model", paths[name], "--json", audio],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"serve-load: `transcribe` failed for {name}: {proc.stderr.strip()[-1000:]}")
        reference[name] = json.loads(proc.stdout.strip().splitlines()[-1])["text"]
    return reference


def fmt_ms(stats: dict | None) -> str:
    if not stats:
        return "n/a"
    return f"p50 {stats['p50']:.1f}  p95 {stats['p95']:.1f}  p99 {stats['p99']:.1f}  max {stats['max']:.1f} ms"


def main() -> int:
    args = parse_args()
    with open(args.audio, "rb") as f:
        audio = f.read()

    server = None
    if args.bin:
        reference = cli_reference(args.bin, args.models, args.models_to_use, args.audio)
        server = StartedServer(args.bin, args.models, args.server_arg, args.start_timeout)
        url = server.url
        print(f"serve-load: started {args.bin} serve (pid {server.pid}) on {url}; logs in {server.logdir} "
              "(removed after a run that passes)", flush=True)
    else:
        reference = {}
        url = args.url
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if parts.scheme != "http" or not is_loopback(host):
        raise SystemExit(f"serve-load: only http:// on loopback is accepted, got {url}")
    auth = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}

    fields_common = [("response_format", args.response_format)]
    if args.stream:
        fields_common.append(("stream", "true"))
    bodies = {m: encode_multipart([("model", m), *fields_common], os.path.basename(args.audio), audio)
              for m in args.models_to_use}

    if server is not None:
        read_memory, rss_source = server.memory, f"/proc/{server.pid}/status"
    else:
        read_memory, rss_source = (lambda: remote_memory(host, port, auth, 30.0)), "GET /v1/memory"

    failures: list[str] = []
    exit_code = None
    report: dict = {}
    try:
        sampler = Sampler(read_memory)
        sampler.take(-1)  # before any request (x = -1 marks it; not in the slope)
        start_sample = sampler.samples[-1] if sampler.samples else None
        load = Load(args, host, port, auth, bodies, reference, sampler)
        warm = load.run(args.warmup, record=False) if args.warmup else None
        print(f"serve-load: {args.warmup} warm-up requests done"
              + (f" ({sum(warm['errors'].values())} errors)" if warm else ""), flush=True)
        sampler.request(0)
        measured = load.run(args.requests, record=True)
        if args.requests % args.sample_every:
            sampler.request(args.requests)
        sampler.finish()
        samples = [s for s in sampler.samples if s["requests"] >= 0]
        samples.sort(key=lambda s: s["requests"])

        all_latencies = [v for values in measured["latencies"].values() for v in values]
        ok = len(all_latencies)
        errors = dict(sorted(measured["errors"].items()))
        warm_errors = dict(sorted(warm["errors"].items())) if warm else {}
        error_total = sum(errors.values()) + sum(warm_errors.values())
        slope = least_squares_slope([s["requests"] for s in samples], [s["rss_anon_bytes"] / MB for s in samples])
        slope_rss = least_squares_slope([s["requests"] for s in samples], [s["rss_bytes"] / MB for s in samples])
        ttft_source = "stream: first transcript.text.delta" if args.stream else (
            "server-reported" if measured["ttfts"] else None)
        report = {
            "url": url, "started_server": server is not None, "rss_source": rss_source,
            "clients": args.clients, "requests": args.requests, "warmup": args.warmup,
            "models": args.models_to_use, "audio": args.audio, "audio_bytes": len(audio),
            "stream": args.stream, "response_format": args.response_format,
            "wall_seconds": measured["wall"], "requests_per_second": measured["completed"] / measured["wall"],
            "ok": ok, "errors": errors, "connections_opened": measured["connections"], "warmup_errors": warm_errors, "error_total": error_total,
            "latency_ms": summary(all_latencies),
            "latency_ms_by_model": {m: summary(v) for m, v in measured["latencies"].items()},
            "ttft_ms": summary(measured["ttfts"]), "ttft_source": ttft_source,
            "rss_at_start": start_sample,
            "rss_first": samples[0] if samples else None, "rss_last": samples[-1] if samples else None,
            "rss_anon_slope_mb_per_100": None if slope is None else slope * 100.0,
            "rss_slope_mb_per_100": None if slope_rss is None else slope_rss * 100.0,
            "rss_samples": samples, "rss_sample_failures": sampler.failures,
            "reference_texts": {m: reference.get(m) for m in args.models_to_use},
        }
        if error_total > args.max_errors:
            failures.append(f"{error_total} errors > --max-errors {args.max_errors}")
        if args.max_slope_mb_per_100 is not None:
            if slope is None:
                failures.append("too few RSS samples for a slope")
            elif slope * 100.0 > args.max_slope_mb_per_100:
                failures.append(f"anonymous RSS slope {slope * 100.0:.3f} MB/100 requests > "
                                f"--max-slope-mb-per-100 {args.max_slope_mb_per_100}")
        if sampler.failures:
            failures.append(f"{len(sampler.failures)} RSS samples failed: {sampler.failures[0]}")
    finally:
        if server is not None:
            exit_code = server.stop(args.stop_timeout)
            report["server_exit_code"] = exit_code
            if exit_code != 0:
                failures.append("server did not exit within --stop-timeout after SIGTERM" if exit_code is None
                                else f"server exited {exit_code} after SIGTERM (want 0)")
                print(f"serve-load: server stderr tail:\n{server.tail(server.stderr_path)}", file=sys.stderr)
    report["failures"] = failures

    def mb(sample: dict | None, key: str) -> str:
        return "n/a" if not sample else f"{sample[key] / MB:.1f}"

    print(f"serve-load: {args.requests} requests, {args.clients} clients, models {','.join(args.models_to_use)}, "
          f"{os.path.basename(args.audio)}{' (stream)' if args.stream else ''}, {args.warmup} warm-up")
    print(f"  ok {report['ok']}, errors {report['errors'] or 0}, warm-up errors {report['warmup_errors'] or 0}")
    print(f"  throughput {report['requests_per_second']:.1f} req/s over {report['wall_seconds']:.1f} s, "
          f"{report['connections_opened']} TCP connections opened")
    print(f"  latency    {fmt_ms(report['latency_ms'])}")
    for m, s in report["latency_ms_by_model"].items():
        print(f"    {m:<9}{fmt_ms(s)}")
    print(f"  TTFT       {fmt_ms(report['ttft_ms'])}" + (f"  ({ttft_source})" if ttft_source else "  (not reported)"))
    first, last = report["rss_first"], report["rss_last"]
    print(f"  RSS ({rss_source}): at start {mb(report['rss_at_start'], 'rss_bytes')} MB, after warm-up "
          f"{mb(first, 'rss_bytes')} MB (anon {mb(first, 'rss_anon_bytes')}), last {mb(last, 'rss_bytes')} MB "
          f"(anon {mb(last, 'rss_anon_bytes')}), {len(report['rss_samples'])} samples")
    slope_text = "n/a" if report["rss_anon_slope_mb_per_100"] is None else f"{report['rss_anon_slope_mb_per_100']:+.4f}"
    print(f"  anonymous RSS slope after warm-up: {slope_text} MB per 100 requests")
    if server is not None:
        print(f"  server exit after SIGTERM: {exit_code}")
    if server is not None:
        if failures:
            print(f"serve-load: server logs kept in {server.logdir}", file=sys.stderr)
        else:
            shutil.rmtree(server.logdir, ignore_errors=True)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
            f.write("\n")
    for failure in failures:
        print(f"serve-load: FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
