"""Loads libearshot and declares the C functions of earshot.h for ctypes.

ctypes.CDLL releases the GIL for the duration of every call, so other Python threads run while
a model loads or a transcription decodes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import operator
import os
import sys
from pathlib import Path

from .errors import error_for

ABI_VERSION = 2

c_handle = ctypes.c_uint64
c_status = ctypes.c_int
# earshot_text_callback: int (*)(const char *text, void *user_data)
TEXT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


def _candidates() -> list[str]:
    name = "libearshot.dylib" if sys.platform == "darwin" else "libearshot.so"
    here = Path(__file__).resolve().parent
    found = []
    if os.environ.get("EARSHOT_LIBRARY"):
        found.append(os.environ["EARSHOT_LIBRARY"])
    found.append(str(here / "_lib" / name))                      # pip install ./python
    found.append(str(here.parent.parent / "build" / "lib" / name))  # a checkout after scripts/build-library
    system = ctypes.util.find_library("earshot")
    if system:
        found.append(system)
    return found


def _openblas_core() -> bool:
    """OpenBLAS picks its kernels from the CPU model when it loads (with libearshot, below); on
    virtual machines reporting a generic model it takes the slowest (SSE3) ones, 3.5x slower on
    Whisper's encoder. Unless the caller chose, name the core the CPU's instructions allow (as
    the earshot CLI does; see Sources/CEarshotKernels/blas_core.c). Set only while the library
    loads (the caller removes it after): programs this process starts (a C program under
    valgrind, which has no AVX-512) must not inherit it. True when it was set here."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif {"avx2", "fma"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    else:
        return False
    return True


def _load() -> ctypes.CDLL:
    chosen = _openblas_core()
    try:
        return _load_library()
    finally:
        if chosen:
            del os.environ["OPENBLAS_CORETYPE"]


def _load_library() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("libearshot not found; build it with scripts/build-library (then `pip install ./python`), "
                      "or set EARSHOT_LIBRARY to its path. Tried: " + "; ".join(tried))


lib = _load()


def _declare(name: str, restype, *argtypes) -> None:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_out_string = ctypes.POINTER(ctypes.c_void_p)   # char **: kept as a raw pointer so it can be freed
_declare("earshot_version", ctypes.c_char_p)
_declare("earshot_abi_version", ctypes.c_int)
_declare("earshot_last_error", ctypes.c_char_p)
_declare("earshot_set_threads", c_status, ctypes.c_int)
_declare("earshot_model_load", c_status, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(c_handle))
_declare("earshot_model_info", c_status, c_handle, _out_string)
_declare("earshot_model_free", c_status, c_handle)
_declare("earshot_session_create", c_status, c_handle, ctypes.POINTER(c_handle))
_declare("earshot_session_reset", c_status, c_handle)
_declare("earshot_session_cancel", c_status, c_handle)
_declare("earshot_session_free", c_status, c_handle)
_declare("earshot_transcribe_pcm", c_status, c_handle, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.c_int,
         ctypes.c_char_p, TEXT_CALLBACK, ctypes.c_void_p, _out_string)
_declare("earshot_transcribe_file", c_status, c_handle, ctypes.c_char_p, ctypes.c_char_p, TEXT_CALLBACK,
         ctypes.c_void_p, _out_string)
_declare("earshot_align_pcm", c_status, c_handle, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.c_int,
         ctypes.c_char_p, ctypes.c_char_p, _out_string)
_declare("earshot_align_file", c_status, c_handle, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, _out_string)
_declare("earshot_memory_report", c_status, _out_string)
_declare("earshot_string_free", c_status, ctypes.c_void_p)

if lib.earshot_abi_version() != ABI_VERSION:
    raise ImportError(f"libearshot has ABI version {lib.earshot_abi_version()}, this package needs {ABI_VERSION}; "
                      "rebuild the library (scripts/build-library) or reinstall the package")


def check(status: int) -> None:
    """Raises the exception for a failed call (the message is read on this thread, right after it)."""
    if status != 0:
        check_message(status, lib.earshot_last_error())


def check_message(status: int, message: bytes | None) -> None:
    """As ``check``, with the message already read (by the thread that made the call)."""
    if status != 0:
        raise error_for(status, (message or b"").decode("utf-8", "replace"))


_C_INT_RANGE = range(-(2 ** 31), 2 ** 31)


def c_int_arg(name: str, value) -> int:
    """``value`` as a C int, refused (not wrapped, as ctypes would: 2**32 + 16000 is 16000) when it
    is not an integer or does not fit. The library checks the value's meaning (e.g. 1000...384000 Hz)."""
    from .errors import InvalidArgumentError
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be an integer, not a bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{name} must be an integer, not {type(value).__name__}") from None
    if number not in _C_INT_RANGE:
        raise InvalidArgumentError(f"{name} {number} is out of range (a C int: -2**31 ... 2**31 - 1)")
    return number


def path_bytes(path) -> bytes:
    """A file name as the exact bytes the OS uses (``os.fsencode``: str names that hold undecodable
    bytes as surrogates come back as those bytes). A NUL is refused as ``open()`` refuses it: C would
    silently cut the name there."""
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise ValueError("embedded null byte")
    return raw


def call_json(function, *args) -> dict:
    """Calls a function whose last parameter is ``char **out_json``; returns the parsed JSON, freed."""
    out = ctypes.c_void_p()
    check(function(*args, ctypes.byref(out)))
    return take_json(out)


def take_json(out: ctypes.c_void_p) -> dict:
    """Parses and frees a JSON string returned by the library."""
    if not out.value:
        return {}
    try:
        return json.loads(ctypes.string_at(out.value).decode("utf-8"))
    finally:
        lib.earshot_string_free(out)


def options_json(options: dict) -> bytes | None:
    """Options as the JSON object the library reads (None values are dropped)."""
    kept = {k: v for k, v in options.items() if v is not None}
    return json.dumps(kept).encode() if kept else None
