"""Earshot from Python: load Qwen3-ASR and Whisper models, transcribe, and give the memory back.

    import earshot
    with earshot.Model("path/to/model") as model:
        print(model.transcribe("speech.wav").text)

Objects own native handles: ``close()`` (or leaving a ``with`` block) frees them at once and is
idempotent; an object dropped without ``close()`` is freed when it is garbage-collected. Nothing
is kept in module-level registries. Native work (loading, transcribing) releases the GIL.

Ctrl-C (KeyboardInterrupt) during a transcription on the main thread cancels it in the library
and is re-raised as soon as the native call has stopped. File names may be ``str`` (names that are
not UTF-8 as ``os.fsdecode`` gives them), ``bytes`` (for models) or ``os.PathLike``; they reach the
library as their exact bytes.
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading
import weakref
from dataclasses import dataclass, field

from . import _audio
from ._audio import MAX_CHANNELS, MAX_SAMPLES
from ._native import (TEXT_CALLBACK, c_handle, c_int_arg, call_json, check, check_message, lib, options_json,
                      path_bytes, take_json)
from .errors import (AudioError, BusyError, CancelledError, ClosedError, EarshotError, InvalidArgumentError,
                     InvalidHandleError, ModelError, OutOfMemoryError)

__all__ = ["Model", "Session", "Transcription", "Aligner", "Alignment", "transcribe", "memory_report", "set_threads", "version",
           "EarshotError", "InvalidArgumentError", "InvalidHandleError", "ModelError", "AudioError",
           "OutOfMemoryError", "BusyError", "CancelledError", "ClosedError", "MAX_SAMPLES", "MAX_CHANNELS"]

__version__ = "0.8.0"


def version() -> str:
    """The native library's version."""
    return lib.earshot_version().decode()


def set_threads(threads: int) -> None:
    """Compute threads per transcription, process-wide (default: all cores)."""
    check(lib.earshot_set_threads(c_int_arg("threads", threads)))


def memory_report() -> dict:
    """The process's memory (RSS, anonymous RSS, fds, bytes Earshot has mapped) and live objects."""
    return call_json(lib.earshot_memory_report)


@dataclass(frozen=True)
class Transcription:
    """The result of one transcription (the library's JSON is in ``raw``)."""

    text: str
    language: str
    token_ids: list
    audio_seconds: float
    audio_tokens: int
    prompt_tokens: int
    timings: dict
    segments: list
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, d: dict) -> "Transcription":
        return cls(text=d.get("text", ""), language=d.get("language", ""), token_ids=d.get("token_ids", []),
                   audio_seconds=d.get("audio_seconds", 0.0), audio_tokens=d.get("audio_tokens", 0),
                   prompt_tokens=d.get("prompt_tokens", 0), timings=d.get("timings", {}),
                   segments=d.get("segments", []), raw=d)


@dataclass(frozen=True)
class Alignment:
    """Words of a transcript with their times: ``words`` is a list of ``{"text", "start", "end"}``
    (seconds, as the official ``Qwen3ForcedAligner.align()`` items) plus ``start_ms``/``end_ms``."""

    words: list
    audio_seconds: float
    timings: dict
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, d: dict) -> "Alignment":
        return cls(words=d.get("words", []), audio_seconds=d.get("audio_seconds", 0.0), timings=d.get("timings", {}), raw=d)


def _free(function, handle: int) -> None:
    # Called once, by close() or by the garbage collector; holds no reference to the object.
    function(handle)


class _NativeObject:
    """Owns one native handle, freed by ``free`` exactly once: at ``_release()`` or when the
    object is garbage-collected (``weakref.finalize`` holds the handle number, not the object)."""

    _handle: int

    def _own(self, handle: int, free) -> None:
        self._handle = handle
        self._finalizer = weakref.finalize(self, _free, free, handle)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def _checked_handle(self) -> int:
        if self.closed:
            raise ClosedError(f"{self!r} is closed")
        return self._handle

    def _release(self) -> None:
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Model(_NativeObject):
    """A loaded model: read-only weights, mapped from its files.

    ``path``: a Qwen3-ASR directory or converted GGUF file, or a Whisper directory (CTranslate2
    ``model.bin`` or Hugging Face safetensors). ``precision``: "native" (default: as stored, read
    in place), "f32", "q8" or "q4" (quantized at load). ``aligner``: a Qwen3-ForcedAligner
    (Qwen3-ASR models), loaded with the model and closed with it; ``transcribe(...,
    timestamps="word" | "segment")`` then times the transcript with it.
    """

    def __init__(self, path: str | bytes | os.PathLike, *, precision: str | None = None,
                 aligner: str | bytes | os.PathLike | None = None):
        self.path = os.fspath(path)
        self.aligner: Aligner | None = None
        handle = c_handle()
        check(lib.earshot_model_load(path_bytes(self.path), options_json({"precision": precision}), ctypes.byref(handle)))
        self._own(handle.value, lib.earshot_model_free)
        self._default: Session | None = None
        self._lock = threading.Lock()
        info = call_json(lib.earshot_model_info, self._handle)
        self.family: str = info["family"]
        self.languages: list = info["languages"]
        if aligner is not None:
            try:
                self.aligner = Aligner(aligner, precision=precision)
            except BaseException:
                self._release()
                raise

    @property
    def mapped_bytes(self) -> int:
        """Bytes of weights mapped for this model."""
        return call_json(lib.earshot_model_info, self._checked_handle())["mapped_bytes"]

    def session(self) -> "Session":
        """A new session (its own caches and scratch) on this model: one per concurrent stream."""
        return Session(self)

    def transcribe(self, audio, **options) -> Transcription:
        """Transcribes with the model's own session (made on first use); see ``Session.transcribe``.

        For several threads at once, give each its own ``model.session()``.
        """
        with self._lock:
            if self._default is None or self._default.closed:
                self._default = Session(self)
            session = self._default
        return session.transcribe(audio, **options)

    def close(self) -> None:
        """Frees the model now (idempotent). Sessions made from it keep working until closed;
        the weights are unmapped when the model and all its sessions are closed."""
        with self._lock:
            default, self._default = self._default, None
        if default is not None:
            default.close()
        if self.aligner is not None:
            self.aligner.close()
        self._release()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.family}, handle {self._handle}"
        return f"<earshot.Model {self.path!r} ({state})>"


class Aligner(_NativeObject):
    """A Qwen3-ForcedAligner with its session: times every word of a known transcript.

    ``path``: the aligner's directory or converted GGUF file. Words are cut as the official
    aligner cuts them (punctuation dropped, each CJK character a word); Japanese and Korean are
    refused (ModelError). One alignment at a time (another thread's call raises BusyError).
    """

    def __init__(self, path: str | bytes | os.PathLike, *, precision: str | None = None):
        self.model = Model(path, precision=precision)
        if self.model.family != "qwen3_forced_aligner":
            family = self.model.family
            self.model.close()
            raise ModelError(f"{os.fspath(path)!r} is a {family} model, not a Qwen3-ForcedAligner")
        handle = c_handle()
        try:
            check(lib.earshot_session_create(self.model._checked_handle(), ctypes.byref(handle)))
        except BaseException:
            self.model.close()
            raise
        self._own(handle.value, lib.earshot_session_free)

    def align(self, audio, text: str, *, language: str | None = None, sample_rate: int = 16000,
              max_audio_seconds: float | None = None) -> Alignment:
        """Times ``text`` in a file path or samples (as ``Session.transcribe`` takes them)."""
        handle = self._checked_handle()
        opts = options_json({"language": language, "max_audio_seconds": max_audio_seconds})
        out = ctypes.c_void_p()
        data = text.encode("utf-8")
        if _audio.is_path(audio):
            status = lib.earshot_align_file(handle, path_bytes(audio), data, opts, ctypes.byref(out))
        else:
            pointer, count, keep = _audio.float32_samples(audio)
            status = lib.earshot_align_pcm(handle, pointer, count, c_int_arg("sample_rate", sample_rate), data, opts,
                                           ctypes.byref(out))
            del keep
        check_message(status, lib.earshot_last_error() if status else None)
        return Alignment.from_json(take_json(out))

    def close(self) -> None:
        """Frees the session and the model now (idempotent)."""
        self._release()
        self.model.close()

    def __repr__(self) -> str:
        return f"<earshot.Aligner {self.model.path!r} ({'closed' if self.closed else f'handle {self._handle}'})>"


class Session(_NativeObject):
    """Per-stream state on a model (KV cache, scratch), mapped once and reused by every request.

    One transcription at a time: a second call from another thread while one runs raises
    ``BusyError``.
    """

    def __init__(self, model: Model):
        handle = c_handle()
        check(lib.earshot_session_create(model._checked_handle(), ctypes.byref(handle)))
        self.model = model
        self._own(handle.value, lib.earshot_session_free)

    def transcribe(self, audio, *, sample_rate: int = 16000, language: str | None = None, context: str | None = None,
                   max_tokens: int | None = None, loop_guard_repeats: int | None = None,
                   timestamps: bool | str | None = None,
                   max_audio_seconds: float | None = None, greedy: bool | None = None, beam_size: int | None = None,
                   best_of: int | None = None, temperature: float | None = None, seed: int | None = None,
                   condition_on_previous_text: bool | None = None, task: str | None = None,
                   word_timestamps: bool | None = None, vad: bool | None = None, vad_model: str | None = None,
                   on_text=None) -> Transcription:
        """Transcribes a file path or samples (numpy array, array.array('f'), list of floats; at most
        ``MAX_SAMPLES``).

        ``sample_rate`` applies to samples (resampled to 16 kHz as needed). ``language`` forces the
        output language (e.g. "English" or "en"); detected when None. ``on_text(text)`` receives
        text as it is decoded, on this thread; returning True cancels. ``max_audio_seconds`` refuses
        longer audio with AudioError (from a file's header when it declares its length, else once
        decoding passes the limit, which stops there); by default any length is accepted. On the main thread, Ctrl-C
        cancels the transcription (decoding included) and raises KeyboardInterrupt.

        Whisper decodes as faster-whisper's ``transcribe()`` does by default (beam search of 5,
        temperature fallback, timestamps, previous-text prompts). ``greedy=True`` is one argmax
        pass per window without timestamps; ``beam_size``, ``best_of``, ``temperature`` (one
        temperature, no fallback), ``seed`` (sampling) and ``condition_on_previous_text`` refine it.
        ``task="translate"`` gives English text (multilingual Whisper models). ``word_timestamps=True``
        adds each segment's words (``segments[i]["words"]``: word, start, end, probability).
        ``vad=True`` transcribes only the speech Silero VAD finds (faster-whisper's ``vad_filter``),
        times staying on the original timeline; ``vad_model`` names the ONNX file (default: the one
        ``scripts/fetch-whisper-models --models silero-vad`` fetched).

        Qwen3-ASR with an aligner given at load (``Model(..., aligner=PATH)``): ``timestamps="word"``
        gives segments with their words (``segments[i]["words"]``: word, start, end), ``"segment"``
        segments only; the aligner's session is busy for the call.
        """
        handle = self._checked_handle()
        aligner = None
        if isinstance(timestamps, str):
            if timestamps not in ("word", "segment"):
                raise InvalidArgumentError(f"timestamps must be True, False, 'word' or 'segment', got {timestamps!r}")
            if self.model.aligner is None:
                raise InvalidArgumentError(f"timestamps={timestamps!r} needs a model loaded with aligner=PATH")
            aligner = {"aligner_session": self.model.aligner._checked_handle(), "granularity": timestamps}
            timestamps = None
        opts = options_json({"language": language, "context": context, "max_tokens": max_tokens,
                             **(aligner or {}),
                             "loop_guard_repeats": loop_guard_repeats, "timestamps": timestamps,
                             "max_audio_seconds": max_audio_seconds, "greedy": greedy, "beam_size": beam_size,
                             "best_of": best_of, "temperature": temperature, "seed": seed,
                             "condition_on_previous_text": condition_on_previous_text, "task": task,
                             "word_timestamps": word_timestamps, "vad": vad, "vad_model": vad_model})
        keep = None
        if _audio.is_path(audio):
            path = path_bytes(audio)

            def native(callback, out):
                return lib.earshot_transcribe_file(handle, path, opts, callback, None, out)
        else:
            rate = c_int_arg("sample_rate", sample_rate)
            pointer, count, keep = _audio.float32_samples(audio)

            def native(callback, out):
                return lib.earshot_transcribe_pcm(handle, pointer, count, rate, opts, callback, None, out)
        # Signals reach only the main thread, and not while it is inside a blocking C call: there
        # the call runs on a helper thread while this one waits in a way Ctrl-C can interrupt.
        run = _run_interruptibly if threading.current_thread() is threading.main_thread() else _run_here
        status, message, out, failure = run(native, on_text, handle)
        del keep   # the samples outlived the native call
        if failure is not None:
            take_json(out)
            raise failure
        if status == InvalidHandleError.status and self.closed:
            raise ClosedError("session was closed during the call")
        check_message(status, message)
        return Transcription.from_json(take_json(out))

    def reset(self) -> None:
        """Forgets decoded context, keeping the session's buffers (the lifecycle's restart)."""
        check(lib.earshot_session_reset(self._checked_handle()))

    def cancel(self) -> None:
        """Stops the transcription running on this session (from another thread); no effect if idle."""
        if not self.closed:
            check(lib.earshot_session_cancel(self._handle))

    def close(self) -> None:
        """Frees the session's buffers now (idempotent). A transcription still running on another
        thread is cancelled."""
        self._release()

    def __repr__(self) -> str:
        return f"<earshot.Session on {self.model.path!r} ({'closed' if self.closed else f'handle {self._handle}'})>"


def _run_here(native, on_text, handle):
    """Calls ``native(callback, out)`` on this thread; ``on_text`` is called from inside it.
    Returns (status, error message, out, the exception that ``on_text`` raised or None)."""
    failure = []
    callback = TEXT_CALLBACK()   # NULL
    if on_text is not None:
        def relay(text, _user):
            try:
                return 1 if on_text(text.decode("utf-8", "replace")) else 0
            except BaseException as e:  # noqa: BLE001 - re-raised after the native call returns
                failure.append(e)
                return 1
        callback = TEXT_CALLBACK(relay)
    out = ctypes.c_void_p()
    status = native(callback, ctypes.byref(out))
    message = lib.earshot_last_error() if status else None
    return status, message, out, (failure[0] if failure else None)


#: How often the main thread wakes while waiting for a transcription: a SIGINT that the kernel
#: delivered to one of the library's threads is noticed at the next wake-up at the latest.
_WAKE_SECONDS = 0.05


def _run_interruptibly(native, on_text, handle):
    """As ``_run_here``, but the native call runs on a helper thread and this (main) thread waits
    for it, running ``on_text`` itself, so that KeyboardInterrupt can arrive at any point.

    The first KeyboardInterrupt (or exception from ``on_text``) cancels the native session; the
    call is then waited for (cancellation is checked between tokens and while decoding, so that is
    prompt), and the exception is returned to be raised: the samples and the session are never
    abandoned to a call still running.
    """
    events = queue.SimpleQueue()    # helper -> here: a text, or None when the call has returned
    replies = queue.SimpleQueue()   # here -> helper: 1 cancels, 0 goes on; one per text
    stop = threading.Event()        # set once stopping: a text whose reply was lost then cancels
    callback = TEXT_CALLBACK()
    if on_text is not None:
        def relay(text, _user):
            events.put(text.decode("utf-8", "replace"))
            while True:
                try:
                    return replies.get(timeout=_WAKE_SECONDS)
                except queue.Empty:
                    if stop.is_set():
                        return 1
        callback = TEXT_CALLBACK(relay)
    out = ctypes.c_void_p()
    result = []

    def work():
        status = native(callback, ctypes.byref(out))
        result.append((status, lib.earshot_last_error() if status else None))
        events.put(None)

    helper = threading.Thread(target=work, name="earshot-transcribe", daemon=True)
    helper.start()
    failure = None
    owed = False      # a text is waiting for its reply
    answer = 1
    # No text is owed a reply once `result` is set: the call returned, so every relay had returned.
    while not result:
        try:
            if owed:
                replies.put(answer)
                owed = False
            try:
                text = events.get(timeout=_WAKE_SECONDS)
            except queue.Empty:
                if stop.is_set():
                    # A cancel that reached the library before the helper's call claimed the session
                    # is not kept (earshot_session_cancel stops the call in progress): repeat it
                    # until the call has begun and ends.
                    lib.earshot_session_cancel(handle)
                continue
            if text is None:
                continue
            owed, answer = True, 1
            if not stop.is_set():
                answer = 1 if on_text(text) else 0
        except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt above all; raised once the call ends
            failure = failure or e
            answer = 1
            if not stop.is_set():
                stop.set()
                lib.earshot_session_cancel(handle)
    while helper.is_alive():
        try:
            helper.join()
        except BaseException as e:  # noqa: BLE001 - a second Ctrl-C while the call winds down
            failure = failure or e
    status, message = result[0]
    return status, message, out, failure


def transcribe(audio, *, model: str | os.PathLike, precision: str | None = None, **options) -> Transcription:
    """One-shot: loads ``model``, transcribes ``audio``, and frees everything before returning."""
    with Model(model, precision=precision) as m:
        return m.transcribe(audio, **options)
