/*
 * earshot_transcribe: the C ABI end to end. Loads a model, transcribes each file given, streams
 * the text to stderr and prints each result's JSON on stdout, then frees everything and checks
 * that nothing is left (live handles, strings and mapped bytes back to zero).
 *
 *   scripts/build-library
 *   cc -Wall -Wextra -Werror examples/c/earshot_transcribe.c -Ibuild/lib -Lbuild/lib -learshot \
 *      -Wl,-rpath,"$PWD/build/lib" -o build/earshot_transcribe
 *   build/earshot_transcribe Tests/Fixtures/qwen3-asr-tiny/model '{"max_tokens": 12}' \
 *      Tests/Fixtures/qwen3-asr-tiny/audio/fox.wav
 */
#include <stdio.h>
#include <string.h>

#include "earshot.h"

static int on_text(const char *text, void *user_data) {
    int *pieces = user_data;
    *pieces += 1;
    fputs(text, stderr);
    return 0;   /* non-zero would cancel */
}

static int fail(const char *what, earshot_status status) {
    fprintf(stderr, "%s failed (status %d): %s\n", what, (int)status, earshot_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL OPTIONS_JSON AUDIO...\n", argv[0]);
        return 2;
    }
    if (earshot_abi_version() != EARSHOT_ABI_VERSION) {
        fprintf(stderr, "libearshot ABI %d, header %d\n", earshot_abi_version(), EARSHOT_ABI_VERSION);
        return 1;
    }
    earshot_model model = 0;
    earshot_session session = 0;
    earshot_status s = earshot_model_load(argv[1], NULL, &model);
    if (s != EARSHOT_OK) return fail("earshot_model_load", s);
    if ((s = earshot_session_create(model, &session)) != EARSHOT_OK) return fail("earshot_session_create", s);

    for (int i = 3; i < argc; i++) {
        int pieces = 0;
        char *json = NULL;
        s = earshot_transcribe_file(session, argv[i], argv[2], on_text, &pieces, &json);
        fputc('\n', stderr);
        if (s != EARSHOT_OK) return fail(argv[i], s);
        printf("%s\n", json);
        fprintf(stderr, "%s: %d text pieces\n", argv[i], pieces);
        earshot_string_free(json);
    }

    /* Misuse is an error code, never a crash. */
    if (earshot_session_reset(model) != EARSHOT_ERROR_INVALID_HANDLE) return fail("model handle as session", s);
    if ((s = earshot_session_free(session)) != EARSHOT_OK) return fail("earshot_session_free", s);
    if (earshot_session_free(session) != EARSHOT_ERROR_INVALID_HANDLE) return fail("double free", s);
    if ((s = earshot_model_free(model)) != EARSHOT_OK) return fail("earshot_model_free", s);

    char *report = NULL;
    if ((s = earshot_memory_report(&report)) != EARSHOT_OK) return fail("earshot_memory_report", s);
    /* The report counts the strings handed out before itself: 0 means every result was freed. */
    int clean = strstr(report, "\"live_models\":0") && strstr(report, "\"live_sessions\":0") &&
                strstr(report, "\"live_strings\":0") && strstr(report, "\"weights\":0") &&
                strstr(report, "\"kv_cache\":0");
    fprintf(stderr, "after freeing: %s\n", report);
    earshot_string_free(report);
    if (!clean) {
        fprintf(stderr, "something is still live or mapped\n");
        return 1;
    }
    return 0;
}
