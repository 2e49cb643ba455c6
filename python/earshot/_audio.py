"""Turns what callers pass as audio into a float32 buffer the library can read in place."""

from __future__ import annotations

import array
import ctypes
import itertools
import os

from .errors import InvalidArgumentError

try:
    import numpy as _np
except ImportError:  # numpy is optional
    _np = None

#: The most samples (frames, after mixing channels down) one call accepts: 2**28, i.e. 1 GiB as
#: float32, 4.6 hours at 16 kHz. Larger inputs are refused before anything is copied or converted
#: (a zero-stride numpy view can claim 10**9 samples while holding one).
MAX_SAMPLES = 1 << 28

#: The most channels a 2-D (frames, channels) array may have.
MAX_CHANNELS = 256


def is_path(audio) -> bool:
    return isinstance(audio, (str, os.PathLike))


def _check_count(count: int) -> None:
    if count > MAX_SAMPLES:
        raise InvalidArgumentError(f"audio has {count} samples; at most {MAX_SAMPLES} (earshot.MAX_SAMPLES, "
                                   f"{MAX_SAMPLES / 16000 / 3600:.1f} hours at 16 kHz) are accepted in one call")


def _numpy_float32(a):
    """A 1-D float32 array of ``a`` (1-D, or 2-D frames x channels), with no float64 temporary."""
    if a.ndim == 2:
        _check_count(a.shape[0])
        if a.shape[1] > MAX_CHANNELS:
            raise InvalidArgumentError(f"audio array has {a.shape[1]} channels; at most {MAX_CHANNELS}")
    elif a.ndim == 1:
        _check_count(a.shape[0])
    else:
        raise ValueError(f"audio array must be 1-D (samples) or 2-D (frames, channels), got shape {a.shape}")
    kind = a.dtype.kind
    if kind not in "iuf":
        raise TypeError(f"audio array must hold numbers, got dtype {a.dtype}")
    # Mix down first (accumulated in float32: one output value per frame), then scale integers.
    out = a.mean(axis=1, dtype=_np.float32) if a.ndim == 2 else _np.array(a, dtype=_np.float32, copy=True, order="C")
    if kind in "iu":
        info = _np.iinfo(a.dtype)
        scale = float(-int(info.min)) if info.min < 0 else (info.max + 1) / 2.0
        offset = 0.0 if info.min < 0 else scale
        if offset:
            out -= _np.float32(offset)
        out *= _np.float32(1.0 / scale)
    return _np.ascontiguousarray(out, dtype=_np.float32)


def float32_samples(audio):
    """Returns (pointer, count, keepalive) for mono float32 samples.

    Accepts a numpy array (1-D, or 2-D as (frames, channels), mixed down; integer PCM scaled to
    [-1, 1]), an ``array.array('f')``, or any sequence of numbers, of at most ``MAX_SAMPLES``
    samples. The keepalive object must outlive the native call.
    """
    if _np is not None and isinstance(audio, _np.ndarray):
        a = audio
        if a.ndim == 1 and a.dtype == _np.float32 and a.flags.c_contiguous:
            _check_count(a.shape[0])   # read in place, no copy
        else:
            a = _numpy_float32(a)
        return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), int(a.size), a
    if isinstance(audio, array.array) and audio.typecode == "f":
        _check_count(len(audio))
        if len(audio) == 0:
            return ctypes.POINTER(ctypes.c_float)(), 0, audio
        buf = (ctypes.c_float * len(audio)).from_buffer(audio)
        return ctypes.cast(buf, ctypes.POINTER(ctypes.c_float)), len(audio), (audio, buf)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        raise TypeError("raw bytes are ambiguous: pass a file path, a numpy array, array.array('f') or a list of floats")
    try:
        size = len(audio)
    except TypeError:
        size = None
    if size is not None:
        _check_count(size)
    try:
        # Straight into float32 (4 bytes a sample, no list of Python floats); one past the limit at
        # most, for iterables without a length.
        values = array.array("f", itertools.islice(audio, MAX_SAMPLES + 1))
    except TypeError:
        raise TypeError(f"audio must be a file path, a numpy array, array.array('f') or a sequence of numbers, "
                        f"not {type(audio).__name__}") from None
    _check_count(len(values))
    if len(values) == 0:
        return ctypes.POINTER(ctypes.c_float)(), 0, values
    buf = (ctypes.c_float * len(values)).from_buffer(values)
    return ctypes.cast(buf, ctypes.POINTER(ctypes.c_float)), len(values), (values, buf)
