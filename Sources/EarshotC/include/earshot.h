/*
 * earshot.h — the C ABI of libearshot (Qwen3-ASR and Whisper speech recognition, Swift-native).
 *
 * Build:  scripts/build-library        (writes libearshot.so / .dylib and this header to build/lib)
 * Link:   cc app.c -Ibuild/lib -Lbuild/lib -learshot -Wl,-rpath,build/lib
 *
 * Conventions
 * - Every function but earshot_version, earshot_abi_version and earshot_last_error returns an
 *   earshot_status. On failure, earshot_last_error() gives a message naming what was wrong.
 * - Handles are numbers, never pointers, and never reused: 0, a handle already freed, or a handle
 *   of the other kind gives EARSHOT_ERROR_INVALID_HANDLE, never a crash. Free each handle once.
 * - Strings returned through `char **out_json` are UTF-8 JSON owned by the caller: release each
 *   with earshot_string_free (exactly once; a second free is EARSHOT_ERROR_INVALID_HANDLE).
 * - Options are JSON objects (NULL or "" means defaults). Unknown keys are errors, so a typo is
 *   never silently ignored.
 *
 * Memory
 * - Weights are mapped read-only from the model files, not copied (unless quantized at load).
 *   Sessions own their caches and scratch, mapped once and reused by every request.
 * - A session keeps its model's weights alive: free models and sessions in any order. The
 *   weights are unmapped, and freed heap is returned to the system, when the model handle and
 *   every session made from it are freed. Nothing is kept in any registry after that.
 *
 * Threads
 * - Every function may be called from any thread.
 * - A model is read-only once loaded; any number of sessions may share it, on any threads.
 * - A session runs one transcription at a time: a second call on a session that is busy returns
 *   EARSHOT_ERROR_BUSY (as does earshot_session_reset). Use one session per concurrent stream.
 * - Transcriptions run on Earshot's fixed inference threads; the calling thread waits, and
 *   `on_text` is called on the calling thread, never concurrently with itself.
 * - earshot_session_cancel may be called from any thread; freeing a busy session cancels its
 *   transcription (which then returns EARSHOT_ERROR_CANCELLED) and releases it when it returns.
 */
#ifndef EARSHOT_H
#define EARSHOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EARSHOT_ABI_VERSION 2

typedef enum earshot_status {
    EARSHOT_OK = 0,
    /* A NULL pointer, malformed or unknown options, a bad sample rate, non-finite samples, an
       unknown language, a prompt too long for the model. */
    EARSHOT_ERROR_INVALID_ARGUMENT = 1,
    /* 0, a handle already freed, a handle of the other kind, or a string not from Earshot. */
    EARSHOT_ERROR_INVALID_HANDLE = 2,
    /* Model files missing, truncated, corrupt, hostile or of an unsupported family. */
    EARSHOT_ERROR_MODEL = 3,
    /* Audio missing, unreadable, corrupt, unsupported or too short. */
    EARSHOT_ERROR_AUDIO = 4,
    /* Not enough memory: the model would not fit in what the machine has available, or a
       mapping failed. Nothing already loaded is affected. */
    EARSHOT_ERROR_OUT_OF_MEMORY = 5,
    /* The session is transcribing on another thread. */
    EARSHOT_ERROR_BUSY = 6,
    /* earshot_session_cancel, `on_text` returning non-zero, or the session was freed. */
    EARSHOT_ERROR_CANCELLED = 7,
    EARSHOT_ERROR_INTERNAL = 8
} earshot_status;

/* A loaded model (read-only weights). 0 is never a valid handle. */
typedef uint64_t earshot_model;
/* Per-stream state on a model: KV cache and scratch. 0 is never a valid handle. */
typedef uint64_t earshot_session;

/* Receives transcript text as it is decoded (UTF-8, valid only during the call). Return 0 to go
   on, non-zero to cancel the transcription. */
typedef int (*earshot_text_callback)(const char *text, void *user_data);

/* The library's version, e.g. "0.8.0" (static storage; do not free). */
const char *earshot_version(void);

/* EARSHOT_ABI_VERSION of the library: compare with the header's before use. */
int earshot_abi_version(void);

/* The message of the last failed call on the calling thread ("" if none). Valid until the next
   failed call on this thread; do not free. */
const char *earshot_last_error(void);

/* Compute threads per transcription (process-wide; default: all cores). 1..256. */
earshot_status earshot_set_threads(int threads);

/* Loads the model in `path`: a Qwen3-ASR directory (config.json + safetensors), a converted GGUF
   file, a CTranslate2 Whisper directory (model.bin) or a Hugging Face Whisper directory.
   options_json: {"precision": "bf16" | "f32" | "q8" | "q4"}  (default "bf16": weights in place)
   Refused with EARSHOT_ERROR_OUT_OF_MEMORY when the model would not fit in available memory. */
earshot_status earshot_model_load(const char *path, const char *options_json, earshot_model *out_model);

/* {"family", "path", "mapped_bytes", "languages": [...]} */
earshot_status earshot_model_info(earshot_model model, char **out_json);

/* Releases the handle; the weights go when the last session of the model is freed too. */
earshot_status earshot_model_free(earshot_model model);

earshot_status earshot_session_create(earshot_model model, earshot_session *out_session);

/* Forgets decoded context, keeping the session's buffers (the lifecycle's "restart"). */
earshot_status earshot_session_reset(earshot_session session);

/* Asks the transcription in flight on `session` to stop at its next token (or stops the decoding
   of its file, killing an ffmpeg child); that call then returns
   EARSHOT_ERROR_CANCELLED (even if decoding had finished while its on_text was still running).
   No effect if the session is idle. */
earshot_status earshot_session_cancel(earshot_session session);

earshot_status earshot_session_free(earshot_session session);

/* Transcribes `count` mono float32 samples at `sample_rate` Hz (resampled to 16 kHz as needed).
   options_json: {"language": "English" | "en" | ..., (default: detected)
                  "context": "names, terms",            (Qwen3-ASR)
                  "max_tokens": 1024 (1..1000000), "loop_guard_repeats": 20 (0..1000000),
                  Whisper (defaults: faster-whisper's transcribe(): beam search of 5, temperature
                  fallback 0.0..1.0, previous-text prompts, timestamps):
                  "timestamps": true, "greedy": false (one argmax pass per window, no timestamps;
                  the keys below refine it), "beam_size": 5 (1..16), "best_of": 5 (1..16),
                  "temperature": 0.3 (0..2: only this temperature, no fallback),
                  "seed": 0 (0..2^53, sampling), "condition_on_previous_text": true,
                  "task": "transcribe" | "translate" (into English; multilingual Whisper models),
                  "word_timestamps": false (each segment's "words": [{"word", "start", "end",
                                            "probability"}]),
                  Both families: "vad": false (Silero VAD first: only speech is transcribed, times
                  stay on the original clip; the model is "vad_model": "path/silero_vad_v6.onnx",
                  default the one scripts/fetch-whisper-models --models silero-vad fetched),
                  "max_audio_seconds": 7200 (0.001..31536000; default: any length; longer audio,
                                         declared in a header or decoded, is EARSHOT_ERROR_AUDIO),
                  Qwen3-ASR: "aligner_session": a session of a Qwen3-ForcedAligner model (busy for the
                  call) that times the transcript: segments with "words": [{"word", "start", "end"}],
                  "granularity": "word" (default) | "segment" (segments without their words)}
   *out_result_json: {"text", "language", "token_ids", "audio_seconds", "audio_tokens",
                      "prompt_tokens", "segments": [...], "timings": {"ttft_ms", "encode_ms",
                      "prefill_ms", "decode_ms", "total_ms", "tokens_per_second", "rtf", "vad_ms", ...}}
   on_text may be NULL. */
earshot_status earshot_transcribe_pcm(earshot_session session, const float *samples, size_t count, int sample_rate,
                                      const char *options_json, earshot_text_callback on_text, void *user_data,
                                      char **out_result_json);

/* As earshot_transcribe_pcm, from an audio file (WAV natively; other formats through ffmpeg).
   `path` is opened by its exact bytes: a name that is not UTF-8 (legal on Linux) is found. */
earshot_status earshot_transcribe_file(earshot_session session, const char *path, const char *options_json,
                                       earshot_text_callback on_text, void *user_data, char **out_result_json);

/* Times every word of `text` in `count` mono float32 samples at `sample_rate` Hz, on a session of a
   Qwen3-ForcedAligner model (another model's session is EARSHOT_ERROR_MODEL). Words are cut as the
   official aligner cuts them (punctuation dropped, each CJK character a word; Japanese and Korean
   refused); no words gives no words.
   options_json: {"language": "English" (decides the word splitting), "max_audio_seconds": n}
   *out_result_json: {"words": [{"text", "start", "end" (seconds), "start_ms", "end_ms"}],
                      "audio_seconds", "audio_tokens", "prompt_tokens", "timings"} */
earshot_status earshot_align_pcm(earshot_session session, const float *samples, size_t count, int sample_rate,
                                 const char *text, const char *options_json, char **out_result_json);

/* As earshot_align_pcm, from an audio file. */
earshot_status earshot_align_file(earshot_session session, const char *path, const char *text,
                                  const char *options_json, char **out_result_json);

/* The process's memory as JSON: {"rss_bytes", "rss_anon_bytes", "rss_file_bytes", "pss_bytes",
   "peak_rss_bytes", "open_fds", "mapped": {"weights", "kv_cache", "scratch", "audio", "other"},
   "malloc_in_use_bytes", "malloc_free_bytes", "live_models", "live_sessions", "live_strings"}. */
earshot_status earshot_memory_report(char **out_json);

/* Frees a string returned by Earshot. NULL is a no-op (EARSHOT_OK). */
earshot_status earshot_string_free(char *string);

#ifdef __cplusplus
}
#endif

#endif /* EARSHOT_H */
