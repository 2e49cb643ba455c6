#!/usr/bin/env python3
"""Checks a running `earshot serve` through the official OpenAI Python client (`pip install openai`).

Normally run by scripts/openai-client-check, which builds the virtualenv, starts the servers and
passes their URLs. A standalone script, not a pytest module (its name does not match test_*.py, so
the pytest run over python/tests leaves it out). By hand, against servers you started yourself:

    python python/tests/openai_client_check.py --url http://127.0.0.1:PORT \
        --bin .build/release/earshot --tiny-model Tests/Fixtures/qwen3-asr-tiny/model \
        --micro-model DIR --audio-dir Tests/Fixtures/qwen3-asr-tiny/audio \
        [--auth-url http://127.0.0.1:PORT2 --api-key secret [--upload-limit-mb 20] [--auth-no-queue]]
        [--drain-pid PID]

The main server must serve `tiny` (the fixture model) and `micro` (the --micro-model directory).
The expected transcripts come from `earshot transcribe --json` on the same model and file (the
contract says they are equal). The optional second server runs with --api-key (and
--max-upload-mb when --upload-limit-mb is given, --max-concurrency 1 --queue 0 with --auth-no-queue)
and serves `tiny`. With --drain-pid PID (the main
server's process id) the last check sends it SIGTERM while one transcription of a 10-minute clip
runs and two more wait for a slot, and requires every one of them to finish with the right text; the caller
then checks the exit status.

Prints one line per check and stops at the first failure with exit status 1.
"""
from __future__ import annotations

import argparse
import atexit
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.error
import urllib.request
import wave

import openai
from openai import OpenAI


class CheckFailed(Exception):
    pass


def require(cond: bool, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


def require_equal(actual, expected, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def require_usage(usage, audio_seconds: float, what: str) -> None:
    """usage = {"type": "duration", "seconds": N}: N is the audio length, either as a number of
    seconds or, as OpenAI bills it, rounded up to a whole second."""
    require(usage is not None, f"{what}: no usage")
    require_equal(usage.type, "duration", f"{what}: usage.type")
    seconds = usage.seconds
    if isinstance(seconds, int) or float(seconds).is_integer():
        require_equal(int(seconds), math.ceil(audio_seconds - 1e-9), f"{what}: usage.seconds (whole seconds, rounded up)")
    else:
        require_close(seconds, audio_seconds, 0.01, f"{what}: usage.seconds")


def subtitle_text(text: str) -> str:
    """What a cue shows for a transcript: lines without surrounding blanks, no empty lines."""
    def trim(line: str) -> str:
        blank = lambda c: c == "\t" or unicodedata.category(c) == "Zs"
        start, end = 0, len(line)
        while start < end and blank(line[start]):
            start += 1
        while end > start and blank(line[end - 1]):
            end -= 1
        return line[start:end]
    lines = [trim(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def require_close(actual: float, expected: float, tolerance: float, what: str) -> None:
    if not isinstance(actual, (int, float)) or not math.isfinite(actual) or abs(actual - expected) > tolerance:
        raise CheckFailed(f"{what}: expected {expected} (+/- {tolerance}), got {actual!r}")


# --- expected results from the CLI -----------------------------------------------------------------

def cli_transcribe(binary: str, model: str, wav: str, extra: tuple[str, ...] = ()) -> dict:
    """`earshot transcribe --model MODEL --json [EXTRA] WAV`: one JSON object (text, token_ids, audio_seconds, ...)."""
    proc = subprocess.run([binary, "transcribe", "--model", model, "--json", *extra, wav],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise CheckFailed(f"earshot transcribe failed ({proc.returncode}) for {wav}: {proc.stderr.strip()[-2000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    require(len(lines) == 1, f"earshot transcribe --json printed {len(lines)} JSON lines for one file:\n{proc.stdout}")
    result = json.loads(lines[0])
    for key in ("text", "token_ids", "audio_seconds"):
        require(key in result, f"earshot transcribe --json has no '{key}': {lines[0]}")
    return result


# --- subtitle parsing ------------------------------------------------------------------------------

_TIME = re.compile(r"^(?:(\d+):)?(\d{2}):(\d{2})[,.](\d{3})$")


def parse_timestamp(text: str, separator: str) -> float:
    m = _TIME.match(text.strip())
    require(m is not None and separator in text, f"bad timestamp {text!r} (expected HH:MM:SS{separator}mmm)")
    hours = int(m.group(1) or 0)
    return hours * 3600 + int(m.group(2)) * 60 + int(m.group(3)) + int(m.group(4)) / 1000.0


def parse_cues(body: str, kind: str) -> list[dict]:
    """Cues of an SRT or WebVTT document: [{"id", "start", "end", "text"}]."""
    body = body.replace("\r\n", "\n")
    blocks = [b for b in re.split(r"\n\s*\n", body.strip("\n")) if b.strip()]
    if kind == "vtt":
        require(len(blocks) > 0 and blocks[0].split("\n")[0].startswith("WEBVTT"),
                f"vtt does not start with WEBVTT: {body[:80]!r}")
        blocks = blocks[1:]
    separator = "," if kind == "srt" else "."
    cues = []
    for block in blocks:
        lines = block.split("\n")
        timing_index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        require(timing_index is not None, f"{kind} block without a timing line: {block!r}")
        if kind == "srt":
            require(timing_index == 1, f"srt cue must be index line then timing line: {block!r}")
        start_text, end_text = (part.strip() for part in lines[timing_index].split("-->", 1))
        end_text = end_text.split(" ")[0]  # vtt cue settings may follow the end time
        cues.append({
            "id": "\n".join(lines[:timing_index]),
            "start": parse_timestamp(start_text, separator),
            "end": parse_timestamp(end_text, separator),
            "text": "\n".join(lines[timing_index + 1:]),
        })
    return cues


# --- raw HTTP helpers ------------------------------------------------------------------------------

def http_json(url: str, api_key: str | None = None, method: str = "GET", timeout: float = 60) -> tuple[int, object]:
    """One request without the openai client: (status, parsed JSON body or the raw text)."""
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        raw = err.read().decode("utf-8", "replace")
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw


def http_get_json(url: str, api_key: str | None = None) -> tuple[int, object]:
    return http_json(url, api_key)


def http_post_json(url: str, api_key: str | None = None) -> tuple[int, object]:
    return http_json(url, api_key, method="POST", timeout=300)


def require_error_shape(body: object, status: int, what: str) -> dict:
    """The OpenAI error body: {"error": {"message": str, "type": str, "code": str}}; returns the inner object."""
    require(isinstance(body, dict) and isinstance(body.get("error"), dict),
            f"{what}: HTTP {status} body is not {{\"error\": {{...}}}}: {body!r}")
    error = body["error"]
    for key in ("message", "type", "code"):
        require(isinstance(error.get(key), str) and error[key] != "",
                f"{what}: error.{key} missing or not a non-empty string: {body!r}")
    return error


def status_error_body(err: openai.APIStatusError) -> object:
    try:
        return err.response.json()
    except ValueError:
        return err.response.text


# --- the checks ------------------------------------------------------------------------------------

class Runner:
    def __init__(self) -> None:
        self.passed = 0

    def run(self, name: str, fn) -> None:
        started = time.monotonic()
        try:
            detail = fn()
        except CheckFailed as err:
            self.fail(name, str(err))
        except openai.APIStatusError as err:
            self.fail(name, f"unexpected HTTP {err.status_code} ({type(err).__name__}): {status_error_body(err)!r}")
        except openai.APIError as err:
            self.fail(name, f"unexpected {type(err).__name__}: {err}")
        self.passed += 1
        elapsed = (time.monotonic() - started) * 1000
        print(f"ok    {name}: {detail} ({elapsed:.0f} ms)", flush=True)

    def fail(self, name: str, message: str) -> None:
        print(f"FAIL  {name}: {message}", flush=True)
        print(f"openai-client-check: {self.passed} passed, 1 failed", flush=True)
        sys.exit(1)


def short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="main server, e.g. http://127.0.0.1:8080 (models tiny and micro)")
    parser.add_argument("--bin", required=True, help="earshot binary (for the expected transcripts)")
    parser.add_argument("--tiny-model", required=True)
    parser.add_argument("--micro-model", required=True)
    parser.add_argument("--audio-dir", required=True, help="holds short.wav, fox.wav and long.wav")
    parser.add_argument("--auth-url", help="second server started with --api-key (serves tiny)")
    parser.add_argument("--api-key", help="that server's key")
    parser.add_argument("--upload-limit-mb", type=float, help="that server's --max-upload-mb")
    parser.add_argument("--auth-no-queue", action="store_true",
                        help="that server runs with --max-concurrency 1 --queue 0: check the 429")
    parser.add_argument("--whisper-url", help="third server serving a real Whisper model as 'whisper', with --vad-model")
    parser.add_argument("--whisper-model", help="that model's directory (for the CLI's expected output)")
    parser.add_argument("--vad-model", help="the Silero VAD file that server was given")
    parser.add_argument("--speech-dir", help="speech set (h01.wav ...) for the Whisper checks")
    parser.add_argument("--aligner-url", help="server serving the tiny Qwen3-ASR as 'tiny' with --aligner")
    parser.add_argument("--aligner-model", help="that server's Qwen3-ForcedAligner (for the CLI's expected output)")
    parser.add_argument("--drain-pid", type=int, help="the main server's pid: SIGTERM it with requests in flight, last")
    args = parser.parse_args()
    if (args.auth_url is None) != (args.api_key is None):
        parser.error("--auth-url and --api-key go together")
    if (args.upload_limit_mb is not None or args.auth_no_queue) and args.auth_url is None:
        parser.error("--upload-limit-mb and --auth-no-queue need --auth-url")

    url = args.url.rstrip("/")
    print(f"openai-client-check: openai {openai.__version__}, server {url}", flush=True)
    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=300)
    runner = Runner()
    workdir = tempfile.mkdtemp(prefix="earshot-openai-check-")
    atexit.register(shutil.rmtree, workdir, True)

    wavs = {name: os.path.join(args.audio_dir, f"{name}.wav") for name in ("short", "fox", "long")}
    expected: dict[tuple[str, ...], dict] = {}

    def expect(model: str, clip: str, *extra: str) -> dict:
        key = (model, clip, *extra)
        if key not in expected:
            path = args.tiny_model if model == "tiny" else args.micro_model
            expected[key] = cli_transcribe(args.bin, path, wavs[clip], extra)
        return expected[key]

    def transcribe(model: str, clip: str, c: OpenAI = client, **kwargs):
        with open(wavs[clip], "rb") as f:
            return c.audio.transcriptions.create(model=model, file=f, **kwargs)

    def ten_minute_clip() -> str:
        """long.wav repeated to about 10 minutes (~19 MB): about 2 s of work for the tiny model on 2
        cores, long enough to act while it runs. Registered as clip "ten-minutes"."""
        if "ten-minutes" not in wavs:
            path = os.path.join(workdir, "ten-minutes.wav")
            with wave.open(wavs["long"], "rb") as r:
                params, frames = r.getparams(), r.readframes(r.getnframes())
            seconds = len(frames) / (params.sampwidth * params.nchannels) / params.framerate
            with wave.open(path, "wb") as w:
                w.setparams(params)
                w.writeframes(frames * max(1, int(600 / seconds)))
            wavs["ten-minutes"] = path
        return wavs["ten-minutes"]

    def queue_depth(base: str, api_key: str | None) -> float:
        request = urllib.request.Request(f"{base}/metrics")
        if api_key:
            request.add_header("Authorization", f"Bearer {api_key}")
        with urllib.request.urlopen(request, timeout=60) as response:
            for line in response.read().decode("utf-8").splitlines():
                if line.startswith("earshot_queue_depth"):
                    return float(line.rsplit(" ", 1)[1])
        raise CheckFailed("/metrics has no earshot_queue_depth")

    def wait_until_busy(base: str, threads: list, outcomes: dict, api_key: str | None = None,
                        queued: int = 0) -> None:
        """Polls until a model has a transcription in flight (GET /v1/memory) and `queued` more
        requests wait for a slot (earshot_queue_depth in /metrics)."""
        deadline = time.monotonic() + 120
        while True:
            status, memory = http_get_json(f"{base}/v1/memory", api_key)
            models = memory.get("models") if isinstance(memory, dict) else None
            if any(m.get("in_flight", 0) > 0 for m in models or []) and \
                    (queued == 0 or queue_depth(base, api_key) >= queued):
                return
            require(time.monotonic() < deadline, "no transcription in flight within 120 s")
            require(all(t.is_alive() for t in threads), f"a request ended before it was seen in flight: {outcomes!r}")
            time.sleep(0.02)

    def transcribe_raw(model: str, clip: str, c: OpenAI = client, **kwargs):
        """The same call through `with_raw_response` (headers and body as sent); `.parse()` gives the result."""
        with open(wavs[clip], "rb") as f:
            return c.audio.transcriptions.with_raw_response.create(model=model, file=f, **kwargs)

    # Health and the model list, before anything loads micro.
    def check_health():
        status, body = http_get_json(f"{url}/health")
        require_equal((status, body), (200, {"status": "ok"}), "GET /health")
        return "200 {\"status\": \"ok\"}"
    runner.run("health", check_health)

    micro_state_at_start = {}

    def check_models_list():
        ids = [m.id for m in client.models.list()]
        require("tiny" in ids and "micro" in ids, f"models.list() ids {ids} lack tiny or micro")
        status, body = http_get_json(f"{url}/v1/models")
        require(status == 200 and isinstance(body, dict) and body.get("object") == "list",
                f"GET /v1/models: {status} {body!r}")
        for entry in body["data"]:
            require_equal(entry.get("object"), "model", f"models[{entry.get('id')}].object")
            require_equal(entry.get("owned_by"), "earshot", f"models[{entry.get('id')}].owned_by")
            require(isinstance(entry.get("state"), str), f"models[{entry.get('id')}] has no state: {entry!r}")
        micro_state_at_start["state"] = next(e["state"] for e in body["data"] if e["id"] == "micro")
        return f"ids {sorted(ids)}; micro state before first use: {micro_state_at_start['state']}"
    runner.run("models.list", check_models_list)

    # json (the default format) for each fixture clip.
    for clip in ("short", "fox"):
        def check_json(clip=clip):
            want = expect("tiny", clip)
            raw = transcribe_raw("tiny", clip)
            content_type = raw.headers.get("content-type", "")
            require(content_type.startswith("application/json"), f"content-type {content_type!r}")
            result = raw.parse()
            require_equal(result.text, want["text"], f"text for {clip}.wav")
            require_usage(result.usage, want["audio_seconds"], f"json response {raw.http_response.text}")
            # The plain `create` call (as a user writes it) gives the same text.
            require_equal(transcribe("tiny", clip).text, want["text"], f"create(...).text for {clip}.wav")
            return f"text {short(want['text'])} == CLI, usage {result.usage.seconds} s"
        runner.run(f"json tiny {clip}.wav", check_json)

    def check_text():
        want = expect("tiny", "fox")["text"]
        raw = transcribe_raw("tiny", "fox", response_format="text")
        content_type = raw.headers.get("content-type", "")
        require(content_type.startswith("text/plain"), f"content-type {content_type!r}")
        require_equal(raw.http_response.text, want + "\n", "raw text body (transcript + newline)")
        parsed = transcribe("tiny", "fox", response_format="text")
        require(isinstance(parsed, str), f"client returned {type(parsed).__name__}, not str")
        require_equal(parsed.rstrip("\n"), want, "client's text result")
        return f"{short(parsed)} == CLI text + newline, {content_type}"
    runner.run("text tiny fox.wav", check_text)

    for kind in ("srt", "vtt"):
        def check_subtitles(kind=kind):
            want = expect("tiny", "fox")
            body = transcribe("tiny", "fox", response_format=kind)
            require(isinstance(body, str), f"client returned {type(body).__name__}, not str")
            cues = parse_cues(body, kind)
            require_equal(len(cues), 1, f"number of {kind} cues for a 4.5 s clip")
            cue = cues[0]
            if kind == "srt":
                require_equal(cue["id"], "1", "srt cue index")
            require_close(cue["start"], 0.0, 0.0005, f"{kind} cue start")
            require_close(cue["end"], want["audio_seconds"], 0.05, f"{kind} cue end (audio duration)")
            shown = cue["text"]
            if kind == "vtt":  # cue text is markup: undo the three escapes a transcript can need
                shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            require_equal(shown, subtitle_text(want["text"]), f"{kind} cue text (the CLI text as cue lines)")
            return f"1 cue {cue['start']:.3f} --> {cue['end']:.3f}, text == CLI"
        runner.run(f"{kind} tiny fox.wav", check_subtitles)

    def check_verbose_json():
        want = expect("tiny", "fox")
        result = transcribe("tiny", "fox", response_format="verbose_json")
        require_equal(type(result).__name__, "TranscriptionVerbose", "parsed type")
        require_equal(result.text, want["text"], "text")
        require_close(result.duration, want["audio_seconds"], 0.01, "duration")
        require(isinstance(result.language, str), f"language {result.language!r}")
        extra = result.model_extra or {}
        require_equal(extra.get("task"), "transcribe", "task")
        require(result.segments is not None and len(result.segments) == 1,
                f"expected 1 segment, got {result.segments!r}")
        seg = result.segments[0]
        require_equal(seg.id, 0, "segments[0].id")
        require_equal(seg.seek, 0, "segments[0].seek")
        require_close(seg.start, 0.0, 1e-6, "segments[0].start")
        require_close(seg.end, want["audio_seconds"], 0.01, "segments[0].end")
        require_equal(seg.text, want["text"], "segments[0].text")
        require_equal(seg.tokens, want["token_ids"], "segments[0].tokens (the CLI's token_ids)")
        require_equal(seg.temperature, 0.0, "segments[0].temperature")
        require_equal(seg.no_speech_prob, 0.0, "segments[0].no_speech_prob")
        require(math.isfinite(seg.avg_logprob) and seg.avg_logprob <= 0.0, f"avg_logprob {seg.avg_logprob}")
        require(math.isfinite(seg.compression_ratio) and seg.compression_ratio > 0.0,
                f"compression_ratio {seg.compression_ratio}")
        require_usage(result.usage, want["audio_seconds"], "verbose_json")
        return (f"duration {result.duration}, language {result.language!r}, "
                f"{len(seg.tokens)} tokens == CLI token_ids, avg_logprob {seg.avg_logprob:.3f}")
    runner.run("verbose_json tiny fox.wav", check_verbose_json)

    def stream_text(c: OpenAI, model: str, clip: str) -> tuple[str, int]:
        raw = transcribe_raw(model, clip, c=c, stream=True)
        content_type = raw.headers.get("content-type", "")
        require(content_type.startswith("text/event-stream"), f"content-type {content_type!r}")
        deltas: list[str] = []
        done_text = None
        for event in raw.parse():
            require(done_text is None, f"event after transcript.text.done: {event!r}")
            if event.type == "transcript.text.delta":
                deltas.append(event.delta)
            elif event.type == "transcript.text.done":
                done_text = event.text
            else:
                raise CheckFailed(f"unexpected event type {event.type!r}: {event!r}")
        require(done_text is not None, f"stream closed without transcript.text.done after {len(deltas)} deltas")
        require(len(deltas) >= 1, "no transcript.text.delta event before done")
        require_equal("".join(deltas), done_text, "concatenated deltas vs done.text")
        return done_text, len(deltas)

    for clip in ("short", "fox"):
        def check_stream(clip=clip):
            want = expect("tiny", clip)["text"]
            text, count = stream_text(client, "tiny", clip)
            require_equal(text, want, "streamed text vs CLI")
            return f"{count} deltas, joined == done.text == CLI {short(want)}"
        runner.run(f"stream tiny {clip}.wav", check_stream)

    def check_language():
        want = expect("tiny", "fox", "--language", "English")["text"]
        require(want != expect("tiny", "fox")["text"], "forcing English does not change the tiny model's text: "
                "this check would not tell a dropped language field")
        for value in ("en", "English"):
            require_equal(transcribe("tiny", "fox", language=value).text, want,
                          f"language={value!r} vs `transcribe --language English`")
        try:
            transcribe("tiny", "fox", language="klingon")
        except openai.BadRequestError as err:
            error = require_error_shape(status_error_body(err), err.status_code, "bad language")
            require("language" in error["message"], f"message does not name the language: {error['message']!r}")
        else:
            raise CheckFailed("language=klingon was accepted")
        return f"en and English == CLI --language English {short(want)}; klingon -> 400"
    runner.run("language", check_language)

    def check_micro():
        want = expect("micro", "fox")
        result = transcribe("micro", "fox")
        require_equal(result.text, want["text"], "micro text vs CLI")
        status, body = http_get_json(f"{url}/v1/models")
        states = {e["id"]: e.get("state") for e in body["data"]}
        require_equal(states.get("micro"), "ready", "micro state after a request")
        again = transcribe("tiny", "short")
        require_equal(again.text, expect("tiny", "short")["text"], "tiny text after micro")
        text, count = stream_text(client, "micro", "short")
        require_equal(text, expect("micro", "short")["text"], "micro streamed text vs CLI")
        return (f"micro {short(want['text'])} == CLI (state {micro_state_at_start.get('state')} -> ready); "
                f"tiny still right; micro stream {count} deltas")
    runner.run("second model micro", check_micro)

    def check_unload_reload():
        status, body = http_post_json(f"{url}/v1/models/micro/unload")
        require(status == 200 and isinstance(body, dict), f"POST /v1/models/micro/unload: {status} {body!r}")
        status, listing = http_get_json(f"{url}/v1/models")
        states = {e["id"]: e.get("state") for e in listing["data"]}
        require_equal(states.get("micro"), "unloaded", "micro state after unload")
        require_equal(transcribe("micro", "fox").text, expect("micro", "fox")["text"], "micro text after unload")
        status, listing = http_get_json(f"{url}/v1/models")
        states = {e["id"]: e.get("state") for e in listing["data"]}
        require_equal(states.get("micro"), "ready", "micro state after the next request")
        return "unload -> unloaded; next request reloads it (ready) and gives the same text"
    runner.run("unload and reload micro", check_unload_reload)

    def check_memory_and_metrics():
        status, memory = http_get_json(f"{url}/v1/memory")
        require(status == 200 and isinstance(memory, dict), f"GET /v1/memory: {status} {memory!r}")
        require(isinstance(memory.get("models"), list) and {m.get("name") for m in memory["models"]} >= {"tiny", "micro"},
                f"/v1/memory models: {memory.get('models')!r}")
        if "rss_bytes" not in memory and isinstance(memory.get("process"), dict):
            memory = memory["process"]  # the process's numbers, beside models and counters
        for key in ("rss_bytes", "rss_anon_bytes", "open_file_descriptors"):
            require(isinstance(memory.get(key), int) and memory[key] > 0, f"/v1/memory {key}: {memory.get(key)!r}")
        require(memory["rss_anon_bytes"] <= memory["rss_bytes"], "rss_anon_bytes > rss_bytes")
        request = urllib.request.Request(f"{url}/metrics")
        with urllib.request.urlopen(request, timeout=60) as response:
            metrics = response.read().decode("utf-8")
        values = {}
        for line in metrics.splitlines():
            if line and not line.startswith("#"):
                name_part, _, value = line.rpartition(" ")
                values[name_part] = value
        names = {key.split("{")[0] for key in values}
        for name in ("earshot_rss_bytes", "earshot_rss_anon_bytes", "earshot_model_loads_total",
                     "earshot_model_unloads_total", "earshot_queue_depth"):
            require(name in names, f"/metrics has no {name}")
        for name in ("earshot_request_duration_seconds", "earshot_time_to_first_token_seconds"):
            require(f"{name}_count" in names and f"{name}_bucket" in names, f"/metrics has no histogram {name}")
        loads = sum(float(v) for k, v in values.items() if k.split("{")[0] == "earshot_model_loads_total")
        unloads = sum(float(v) for k, v in values.items() if k.split("{")[0] == "earshot_model_unloads_total")
        require(loads >= 3, f"earshot_model_loads_total {loads} < 3 (tiny, micro, micro again)")
        require(unloads >= 1, f"earshot_model_unloads_total {unloads} < 1 after an unload")
        requests = sum(float(v) for k, v in values.items() if k.split("{")[0] == "earshot_request_duration_seconds_count")
        require(requests >= 10, f"earshot_request_duration_seconds_count {requests} < 10 after the checks above")
        return (f"rss {memory['rss_bytes'] / 1048576:.0f} MB (anon {memory['rss_anon_bytes'] / 1048576:.0f}), "
                f"{memory['open_file_descriptors']} fds; metrics: loads {loads:.0f}, unloads {unloads:.0f}, "
                f"{requests:.0f} requests timed")
    runner.run("/v1/memory and /metrics", check_memory_and_metrics)

    # Errors.
    def check_unknown_model():
        try:
            transcribe("no-such-model", "short")
        except openai.NotFoundError as err:
            error = require_error_shape(status_error_body(err), err.status_code, "unknown model")
            require_equal(err.status_code, 404, "status")
            require("no-such-model" in error["message"], f"message does not name the model: {error['message']!r}")
            return f"NotFoundError 404, type {error['type']!r}, code {error['code']!r}: {error['message']!r}"
        raise CheckFailed("no error for model 'no-such-model'")
    runner.run("unknown model -> NotFoundError", check_unknown_model)

    def check_not_audio():
        path = os.path.join(workdir, "x.wav")
        with open(path, "w") as f:
            f.write("This is a text file, not a WAV recording.\n" * 50)
        try:
            with open(path, "rb") as f:
                client.audio.transcriptions.create(model="tiny", file=f)
        except openai.BadRequestError as err:
            error = require_error_shape(status_error_body(err), err.status_code, "non-audio file")
            require_equal(err.status_code, 400, "status")
            require(re.search(r"audio|wav|riff|decod", error["message"], re.IGNORECASE) is not None,
                    f"message does not say the file is not audio: {error['message']!r}")
            return f"BadRequestError 400, type {error['type']!r}, code {error['code']!r}: {error['message']!r}"
        raise CheckFailed("a text file named x.wav was accepted")
    runner.run("text file as x.wav -> BadRequestError", check_not_audio)

    def check_bad_format():
        try:
            transcribe("tiny", "short", response_format="xml")
        except openai.BadRequestError as err:
            error = require_error_shape(status_error_body(err), err.status_code, "bad response_format")
            require("response_format" in error["message"],
                    f"message does not name response_format: {error['message']!r}")
            return f"BadRequestError 400: {error['message']!r}"
        raise CheckFailed("response_format=xml was accepted")
    runner.run("response_format=xml -> BadRequestError", check_bad_format)

    # The server with --api-key.
    if args.auth_url:
        auth_url = args.auth_url.rstrip("/")

        def check_wrong_key():
            wrong = OpenAI(base_url=f"{auth_url}/v1", api_key="wrong-" + args.api_key, max_retries=0)
            try:
                with open(wavs["short"], "rb") as f:
                    wrong.audio.transcriptions.create(model="tiny", file=f)
            except openai.AuthenticationError as err:
                error = require_error_shape(status_error_body(err), err.status_code, "wrong key")
                require_equal(err.status_code, 401, "status")
            else:
                raise CheckFailed("a transcription with the wrong key succeeded")
            try:
                wrong.models.list()
            except openai.AuthenticationError:
                pass
            else:
                raise CheckFailed("models.list() with the wrong key succeeded")
            status, body = http_get_json(f"{auth_url}/v1/models")  # no Authorization header at all
            require_equal(status, 401, "GET /v1/models without a key")
            require_error_shape(body, status, "no key")
            return f"AuthenticationError 401 (transcription, models.list), no key 401: {error['message']!r}"
        runner.run("wrong API key -> AuthenticationError", check_wrong_key)

        keyed = OpenAI(base_url=f"{auth_url}/v1", api_key=args.api_key, max_retries=0, timeout=300)

        def check_right_key():
            want = expect("tiny", "short")["text"]
            text = transcribe("tiny", "short", c=keyed).text
            require_equal(text, want, "text with the right key")
            ids = [m.id for m in keyed.models.list()]
            require("tiny" in ids, f"models.list() with the key: {ids}")
            return f"text == CLI, models {ids}"
        runner.run("right API key works", check_right_key)

        if args.auth_no_queue:
            def check_queue_full():
                ten_minute_clip()
                want = expect("tiny", "ten-minutes")["text"]
                outcomes: dict[str, object] = {}

                def long_request() -> None:
                    try:
                        outcomes["long"] = transcribe("tiny", "ten-minutes", c=keyed).text
                    except Exception as err:  # noqa: BLE001 - reported below
                        outcomes["long"] = err
                thread = threading.Thread(target=long_request, daemon=True)
                thread.start()
                wait_until_busy(auth_url, [thread], outcomes, args.api_key)
                try:
                    transcribe("tiny", "short", c=keyed)
                except openai.RateLimitError as err:
                    error = require_error_shape(status_error_body(err), err.status_code, "queue full")
                    require_equal(err.status_code, 429, "status")
                    retry_after = err.response.headers.get("retry-after")
                    require(retry_after is not None and retry_after.strip().isdigit(),
                            f"429 without a Retry-After of whole seconds: {retry_after!r}")
                else:
                    raise CheckFailed("a second request was admitted while one ran with --max-concurrency 1 --queue 0")
                finally:
                    thread.join(300)
                require(not isinstance(outcomes.get("long"), Exception) and "long" in outcomes,
                        f"the running request failed: {outcomes.get('long')!r}")
                require_equal(outcomes["long"], want, "text of the running request")
                return (f"RateLimitError 429, Retry-After {retry_after}: {error['message']!r}; "
                        f"the running request finished right")
            runner.run("queue full -> RateLimitError", check_queue_full)

        if args.upload_limit_mb is not None:
            def check_too_large():
                path = os.path.join(workdir, "large.wav")
                seconds = int(args.upload_limit_mb * 1024 * 1024 / 32000) + 10
                with wave.open(path, "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(16000)
                    w.writeframes(b"\x00\x00" * 16000 * seconds)
                size_mb = os.path.getsize(path) / (1024 * 1024)
                try:
                    with open(path, "rb") as f:
                        keyed.audio.transcriptions.create(model="tiny", file=f)
                except openai.APIStatusError as err:
                    error = require_error_shape(status_error_body(err), err.status_code, "upload too large")
                    require_equal(err.status_code, 413, f"status for a {size_mb:.1f} MB upload")
                    return f"413 for {size_mb:.1f} MB (limit {args.upload_limit_mb} MB): {error['message']!r}"
                except openai.APIConnectionError as err:
                    raise CheckFailed(f"connection error instead of a 413 response for {size_mb:.1f} MB: {err!r}")
                raise CheckFailed(f"a {size_mb:.1f} MB upload was accepted with --max-upload-mb {args.upload_limit_mb}")
            runner.run("upload over --max-upload-mb -> 413", check_too_large)

    # Real Whisper: the OpenAI fields for timestamps, prompts, translation, and Earshot's vad.
    if args.aligner_url:
        aclient = OpenAI(base_url=f"{args.aligner_url.rstrip('/')}/v1", api_key="unused", max_retries=0, timeout=300)
        aligned = cli_transcribe(args.bin, args.tiny_model, wavs["fox"], ("--aligner", args.aligner_model))

        def check_aligned_words():
            r = aclient.audio.transcriptions.create(model="tiny", file=open(wavs["fox"], "rb"),
                                                    response_format="verbose_json",
                                                    timestamp_granularities=["word", "segment"])
            want_words = [w for seg in aligned["segments"] for w in seg["words"]]
            require(len(want_words) > 0, "the CLI's aligned transcript has no words")
            require_equal([w.word for w in r.words], [w["word"].strip() for w in want_words], "aligned words")
            for got, want in zip(r.words, want_words):
                require_close(got.start, want["start"], 0.0015, f"start of {got.word!r}")
                require_close(got.end, want["end"], 0.0015, f"end of {got.word!r}")
            require_equal([seg.text for seg in r.segments], [seg["text"] for seg in aligned["segments"]], "aligned segments")
            require_equal(r.text, aligned["text"], "aligned text")
        runner.run("timestamp_granularities word+segment on Qwen3-ASR with --aligner", check_aligned_words)

        def check_aligned_srt():
            body = aclient.audio.transcriptions.create(model="tiny", file=open(wavs["fox"], "rb"), response_format="srt")
            cues = parse_cues(body, "srt")
            require_equal(len(cues), len(aligned["segments"]), "srt cues = the aligned segments")
        runner.run("srt on Qwen3-ASR with --aligner", check_aligned_srt)

    if args.whisper_url:
        wclient = OpenAI(base_url=f"{args.whisper_url.rstrip('/')}/v1", api_key="unused", max_retries=0, timeout=300)
        h01 = os.path.join(args.speech_dir, "h01.wav")

        def whisper_file(path: str, **kwargs):
            with open(path, "rb") as f:
                return wclient.audio.transcriptions.create(model="whisper", file=f, **kwargs)

        def check_whisper_words():
            r = whisper_file(h01, response_format="verbose_json", timestamp_granularities=["word", "segment"])
            cli = cli_transcribe(args.bin, args.whisper_model, h01, ("--word-timestamps",))
            require_equal(r.text, cli["text"], "Whisper verbose_json text vs CLI")
            cli_words = [w for s in cli["segments"] for w in s.get("words", [])]
            require(len(r.words or []) == len(cli_words) > 0, f"{len(r.words or [])} words vs CLI {len(cli_words)}")
            for got, want in zip(r.words, cli_words):
                require_equal(got.word, want["word"].strip(), "word")
                require_close(got.start, want["start"], 1e-3, f"start of {got.word!r}")
                require_close(got.end, want["end"], 1e-3, f"end of {got.word!r}")
            require(len(r.segments or []) == len(cli["segments"]), "segments vs CLI")
            return f"{len(r.words)} words and {len(r.segments)} segments as the CLI's"
        runner.run("Whisper timestamp_granularities[] word+segment", check_whisper_words)

        def check_whisper_prompt():
            prompt = "Birch canoe, smooth planks."
            r = whisper_file(h01, prompt=prompt)
            require_equal(r.text, cli_transcribe(args.bin, args.whisper_model, h01, ("--initial-prompt", prompt))["text"],
                          "prompted text vs CLI --initial-prompt")
            return short(r.text)
        runner.run("Whisper prompt = initial prompt", check_whisper_prompt)

        def check_whisper_vad():
            # 2 s of silence, h01, 3 s of silence: the speech keeps its place on the timeline.
            path = os.path.join(workdir, "padded-h01.wav")
            with wave.open(h01, "rb") as r:
                params, frames = r.getparams(), r.readframes(r.getnframes())
            with wave.open(path, "wb") as w:
                w.setparams(params)
                w.writeframes(b"\0\0" * 32000 + frames + b"\0\0" * 48000)
            r = whisper_file(path, response_format="verbose_json", extra_body={"vad": "true"})
            cli = cli_transcribe(args.bin, args.whisper_model, path, ("--vad", "--vad-model", args.vad_model))
            require_equal(r.text, cli["text"], "vad=true text vs CLI --vad")
            require(r.segments and r.segments[0].start >= 1.5, f"first segment at {r.segments and r.segments[0].start}")
            for got, want in zip(r.segments, cli["segments"]):
                require_close(got.start, want["start"], 1e-3, "segment start")
                require_close(got.end, want["end"], 1e-3, "segment end")
            return f"first segment at {r.segments[0].start:.2f} s of the padded clip"
        runner.run("vad=true (extra_body) drops silence, keeps the timeline", check_whisper_vad)

        def check_whisper_translation():
            try:
                with open(h01, "rb") as f:
                    wclient.audio.translations.create(model="whisper", file=f)
            except openai.BadRequestError as err:
                require("translate" in str(err), f"message: {err}")
                return "English-only model: 400 naming translate"
            raise CheckFailed("translations on an English-only model succeeded")
        runner.run("translations on an English-only Whisper -> 400", check_whisper_translation)

    # Graceful drain, last: SIGTERM while transcriptions are running and queued.
    if args.drain_pid is not None:
        def check_drain():
            ten_minute_clip()
            want = expect("tiny", "ten-minutes")["text"]
            outcomes: dict[str, object] = {}

            def request(name: str, stream: bool) -> None:
                try:
                    outcomes[name] = stream_text(client, "tiny", "ten-minutes")[0] if stream else \
                        transcribe("tiny", "ten-minutes").text
                except Exception as err:  # noqa: BLE001 - reported below
                    outcomes[name] = err
            threads = [threading.Thread(target=request, args=(name, name == "stream"), daemon=True)
                       for name in ("json-1", "stream", "json-2")]
            for t in threads:
                t.start()
            wait_until_busy(url, threads, outcomes, queued=2)  # one running, two waiting (--max-concurrency 1)
            os.kill(args.drain_pid, signal.SIGTERM)
            signalled = time.monotonic()
            for t in threads:
                t.join(300)
            require(not any(t.is_alive() for t in threads), "requests still running 300 s after SIGTERM")
            for name, outcome in sorted(outcomes.items()):
                require(not isinstance(outcome, Exception),
                        f"{name} failed after SIGTERM: {type(outcome).__name__}: {outcome}")
                require_equal(outcome, want, f"{name} text after SIGTERM vs CLI")
            return (f"SIGTERM with 3 requests of a {expect('tiny', 'ten-minutes')['audio_seconds']:.0f} s clip, 1 "
                    f"running and 2 queued; all finished right, {time.monotonic() - signalled:.1f} s after the signal")
        runner.run("SIGTERM drains requests in flight", check_drain)

    print(f"openai-client-check: {runner.passed} passed, 0 failed", flush=True)


if __name__ == "__main__":
    main()
