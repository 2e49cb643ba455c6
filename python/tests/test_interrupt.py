"""Ctrl-C during a transcription on the main thread: the native work is cancelled (decoding
included) and KeyboardInterrupt is raised, not CancelledError, and not only once the file is done.

Each case runs in a child interpreter, since it sends SIGINT to its own process; the child is given
a minute, so a binding that waits for the native call to finish by itself fails here, not hangs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import earshot
from conftest import REPO, TINY_MODEL, audio, golden_ids

CHILD_PRELUDE = """
import json, os, signal, sys, threading, time
import earshot
model = earshot.Model(sys.argv[1])
session = model.session()
def outcome(call):
    try:
        call()
        return "finished"
    except KeyboardInterrupt:
        return "KeyboardInterrupt"
    except BaseException as e:
        return f"{type(e).__name__}: {e}"
def after():
    # The session is free and intact once the exception is out.
    return session.transcribe(sys.argv[2], max_tokens=12, loop_guard_repeats=0).token_ids
"""


def run_child(body: str, env_extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(earshot.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    code = CHILD_PRELUDE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code, str(TINY_MODEL), audio("short")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ctrl_c_stops_a_decode_that_would_never_end(tmp_path):
    # A stand-in ffmpeg that never answers: without cancellation the call would wait forever.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ffmpeg").write_text("#!/bin/sh\nexec sleep 600\n")
    (fake / "ffmpeg").chmod(0o755)
    flac = REPO / "Tests" / "Fixtures" / "audio-formats" / "fox.flac"
    result = run_child(f"""
        # Process-directed, as a terminal's Ctrl-C is: any thread may receive it.
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        first = outcome(lambda: session.transcribe({str(flac)!r}))
        print(json.dumps({{"first": first, "after": after(), "threads": threading.active_count()}}))
    """, {"PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"})
    assert result["first"] == "KeyboardInterrupt"
    assert result["after"] == golden_ids("short")
    assert result["threads"] == 1   # the helper thread is gone


def test_ctrl_c_inside_on_text_raises_keyboard_interrupt_and_cancels():
    result = run_child(f"""
        seen = []
        def on_text(text):
            seen.append(text)
            if len(seen) == 1:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)   # the interrupt lands in here, or in the wait just after
        first = outcome(lambda: session.transcribe({audio("fox")!r}, language="English", max_tokens=12,
                                                   loop_guard_repeats=0, on_text=on_text))
        print(json.dumps({{"first": first, "seen": len(seen), "after": after(), "threads": threading.active_count()}}))
    """)
    assert result["first"] == "KeyboardInterrupt"
    assert 1 <= result["seen"] < 12   # the uninterrupted call streams 12 pieces
    assert result["after"] == golden_ids("short")
    assert result["threads"] == 1
