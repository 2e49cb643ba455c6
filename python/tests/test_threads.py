"""Threads: two sessions transcribe at once; one session refuses a second caller; cancel and close
from another thread stop a transcription in flight."""

from __future__ import annotations

import threading
import time

import pytest

import earshot
from conftest import audio, golden_ids

GREEDY = {"max_tokens": 12, "loop_guard_repeats": 0}


def test_two_threads_on_two_sessions_at_once(tiny_model):
    expected = {"fox": golden_ids("fox"), "short": golden_ids("short")}
    inside = threading.Barrier(2, timeout=30)
    results, errors = {}, []

    def work(case):
        try:
            with tiny_model.session() as s:
                got = []
                for i in range(5):
                    # The first text of each thread waits for the other's: both are mid-transcription at once.
                    def on_text(_t, first=[True]):
                        if first[0] and i == 0:
                            first[0] = False
                            inside.wait()
                    r = s.transcribe(audio(case), language="English" if i == 0 else None, on_text=on_text,
                                     **GREEDY)
                    got.append(r.token_ids if i else None)
                results[case] = got[1:]
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in ("fox", "short")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for case, runs in results.items():
        assert runs == [expected[case]] * 4


def _hold_in_callback(session, release, started, outcome):
    def on_text(_t):
        started.set()
        release.wait(30)
    try:
        session.transcribe(audio("fox"), language="English", on_text=on_text, **GREEDY)
        outcome.append("finished")
    except BaseException as e:  # noqa: BLE001
        outcome.append(e)


def _start_held(session):
    """A thread whose transcription on `session` is held inside its first text callback."""
    release, started, outcome = threading.Event(), threading.Event(), []
    t = threading.Thread(target=_hold_in_callback, args=(session, release, started, outcome))
    t.start()
    assert started.wait(30)
    return release, outcome, t


def test_a_busy_session_refuses_a_second_thread(tiny_model):
    with tiny_model.session() as s:
        release, outcome, t = _start_held(s)
        with pytest.raises(earshot.BusyError, match="another thread"):
            s.transcribe(audio("short"))
        with pytest.raises(earshot.BusyError):
            s.reset()
        release.set()
        t.join(60)
        assert outcome == ["finished"]
        assert s.transcribe(audio("short"), **GREEDY).token_ids == golden_ids("short")


def test_cancel_from_another_thread(tiny_model):
    with tiny_model.session() as s:
        release, outcome, t = _start_held(s)
        time.sleep(0.3)   # decoding runs ahead of the held callback and is done by now: still cancelled
        s.cancel()
        release.set()
        t.join(60)
        assert len(outcome) == 1 and isinstance(outcome[0], earshot.CancelledError)


def test_close_during_a_transcription_cancels_it_and_frees_after(tiny_model):
    base = earshot.memory_report()["live_sessions"]
    s = tiny_model.session()
    release, outcome, t = _start_held(s)
    time.sleep(0.3)
    s.close()
    assert earshot.memory_report()["live_sessions"] == base
    release.set()
    t.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], (earshot.CancelledError, earshot.ClosedError))
    assert tiny_model.transcribe(audio("short"), **GREEDY).token_ids == golden_ids("short")


def test_the_last_error_is_per_thread():
    import ctypes
    from earshot._native import lib
    both_failed = threading.Barrier(2, timeout=30)
    seen = {}

    def fail(name):
        handle = ctypes.c_uint64()
        status = lib.earshot_model_load(f"/no/such/{name}".encode(), None, ctypes.byref(handle))
        both_failed.wait()   # the other thread has failed too before this one reads its message
        seen[name] = (status, lib.earshot_last_error().decode())

    threads = [threading.Thread(target=fail, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen["first"][0] == seen["second"][0] == earshot.ModelError.status
    assert "/no/such/first" in seen["first"][1] and "/no/such/second" not in seen["first"][1]
    assert "/no/such/second" in seen["second"][1] and "/no/such/first" not in seen["second"][1]


def test_native_work_releases_the_gil(tiny_model):
    ticks, stop = [], threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        with tiny_model.session() as s:
            start = time.monotonic()
            s.transcribe(audio("long"), max_tokens=200, loop_guard_repeats=0)   # no callback: all native
            end = time.monotonic()
    finally:
        stop.set()
        t.join(10)
    # Had the call held the GIL, the ticker could not have run inside it at all.
    inside = [x for x in ticks if start + 0.2 * (end - start) < x < end - 0.2 * (end - start)]
    assert end - start > 0.02, "the transcription was too short to tell"
    assert len(inside) >= 3, f"{len(inside)} ticks inside a {1000 * (end - start):.0f} ms native call"
