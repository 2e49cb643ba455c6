"""Memory comes back: load/transcribe/close loops stay flat, dropped objects are freed by the GC."""

from __future__ import annotations

import gc
import weakref

import earshot
from conftest import TINY_MODEL, audio, open_fds, slope, status_kb

# A leaked session alone maps >4 MB and a leaked tokenizer keeps MBs of heap: a leak of either,
# even once in ten loops, is far above this bound on the anonymous-RSS trend.
MAX_SLOPE_KB_PER_LOOP = 4.0


def test_load_transcribe_close_200_times_is_flat():
    opts = {"max_tokens": 4, "loop_guard_repeats": 0}
    earshot.transcribe(audio("short"), model=TINY_MODEL, **opts)   # warm the threads and pools once
    fds_start = open_fds()
    mapped_start = earshot.memory_report()["mapped"]   # other tests' models may be loaded
    anon = []
    for _ in range(200):
        with earshot.Model(TINY_MODEL) as m:
            r = m.transcribe(audio("short"), **opts)
            assert len(r.token_ids) == 4
        anon.append(status_kb("RssAnon"))
    settled = anon[40:]   # after 20% warm-up
    trend = slope(settled)
    print(f"\nRssAnon {anon[0]} -> {anon[-1]} kB over 200 loops; slope after warm-up {trend:+.3f} kB/loop")
    assert trend <= MAX_SLOPE_KB_PER_LOOP, f"anonymous RSS grows {trend:.2f} kB per loop"
    assert open_fds() == fds_start
    assert earshot.memory_report()["mapped"] == mapped_start


def test_session_reset_200_times_is_flat(tiny_model):
    with tiny_model.session() as s:
        s.transcribe(audio("short"), max_tokens=4)
        anon = []
        for _ in range(200):
            s.reset()
            s.transcribe(audio("short"), max_tokens=4)
            anon.append(status_kb("RssAnon"))
        assert slope(anon[40:]) <= MAX_SLOPE_KB_PER_LOOP


def test_objects_dropped_without_close_are_freed_by_the_gc():
    gc.collect()
    base = earshot.memory_report()
    m = earshot.Model(TINY_MODEL)
    s = m.session()
    m.transcribe(audio("short"), max_tokens=2)   # the model's own session too
    during = earshot.memory_report()
    assert during["live_models"] == base["live_models"] + 1
    assert during["live_sessions"] == base["live_sessions"] + 2
    refs = [weakref.ref(m), weakref.ref(s)]
    del m, s
    gc.collect()
    assert all(r() is None for r in refs), "the binding keeps objects alive"
    after = earshot.memory_report()
    assert (after["live_models"], after["live_sessions"]) == (base["live_models"], base["live_sessions"])
    assert after["mapped"]["weights"] == base["mapped"]["weights"]


def test_objects_in_reference_cycles_are_freed_too():
    gc.collect()
    base = earshot.memory_report()

    class Holder:
        pass

    h = Holder()
    h.model = earshot.Model(TINY_MODEL)
    h.session = h.model.session()
    h.me = h            # a cycle: only the cycle collector can free it
    del h
    gc.collect()
    after = earshot.memory_report()
    assert after["live_models"] == base["live_models"] and after["live_sessions"] == base["live_sessions"]
