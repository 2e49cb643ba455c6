"""Turns what callers pass as audio into a float32 buffer the library can read in place."""

from __future__ import annotations

import array
import ctypes
import os

try:
    import numpy as _np
except ImportError:  # numpy is optional
    _np = None


def is_path(audio) -> bool:
    return isinstance(audio, (str, os.PathLike))


def float32_samples(audio):
    """Returns (pointer, count, keepalive) for mono float32 samples.

    Accepts a numpy array (1-D, or 2-D as (frames, channels), mixed down; integer PCM scaled to
    [-1, 1]), an ``array.array('f')``, or any sequence of numbers. The keepalive object must
    outlive the native call.
    """
    if _np is not None and isinstance(audio, _np.ndarray):
        a = audio
        if a.ndim == 2:
            a = a.mean(axis=1, dtype=_np.float64)
        elif a.ndim != 1:
            raise ValueError(f"audio array must be 1-D (samples) or 2-D (frames, channels), got shape {a.shape}")
        if a.dtype.kind in "iu":
            info = _np.iinfo(a.dtype)
            scale = float(-int(info.min)) if info.min < 0 else (info.max + 1) / 2.0
            offset = 0.0 if info.min < 0 else scale
            a = (a.astype(_np.float64) - offset) / scale
        elif a.dtype.kind != "f":
            raise TypeError(f"audio array must hold numbers, got dtype {a.dtype}")
        a = _np.ascontiguousarray(a, dtype=_np.float32)
        return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), int(a.size), a
    if isinstance(audio, array.array) and audio.typecode == "f":
        if len(audio) == 0:
            return ctypes.POINTER(ctypes.c_float)(), 0, audio
        buf = (ctypes.c_float * len(audio)).from_buffer(audio)
        return ctypes.cast(buf, ctypes.POINTER(ctypes.c_float)), len(audio), (audio, buf)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        raise TypeError("raw bytes are ambiguous: pass a file path, a numpy array, array.array('f') or a list of floats")
    try:
        values = [float(v) for v in audio]
    except TypeError:
        raise TypeError(f"audio must be a file path, a numpy array, array.array('f') or a sequence of numbers, "
                        f"not {type(audio).__name__}") from None
    buf = (ctypes.c_float * len(values))(*values)
    return ctypes.cast(buf, ctypes.POINTER(ctypes.c_float)), len(values), buf
