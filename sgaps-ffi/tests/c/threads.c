/*
 * threads.c: one engine, several pthreads, each streaming its own session, as the
 * header's thread-safety section promises. Also checks that error messages are per
 * thread. Exits non-zero on any failure.
 *
 *   threads CHECKPOINT_DIR
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgaps.h"

#define THREADS 4
#define FRAMES 5

static const SgapsEngine *engine;

struct outcome {
    int failed;
    char message[512];
    uint64_t frames;
};

static void *stream(void *argument) {
    struct outcome *outcome = argument;
    float coordinates[2 * 100];
    SgapsSessionParams params;
    SgapsSession *session = NULL;
#define FAIL(what)                                                                                  \
    do {                                                                                            \
        outcome->failed = 1;                                                                        \
        snprintf(outcome->message, sizeof outcome->message, "%s: %s", what, sgaps_last_error());   \
        sgaps_session_free(session);                                                                \
        return NULL;                                                                                \
    } while (0)

    if (sgaps_session_begin(engine, "default", 64, 48, &params, coordinates, 200, &session) != SGAPS_STATUS_OK) {
        FAIL("begin");
    }
    uint8_t reconstruction[32 * 24];
    SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
    buffers.reconstruction = reconstruction;
    buffers.reconstruction_capacity = sizeof reconstruction;
    float pixels[3 * 100];
    for (int t = 0; t < FRAMES; t++) {
        for (int i = 0; i < 100; i++) {
            pixels[3 * i] = coordinates[2 * i];
            pixels[3 * i + 1] = coordinates[2 * i + 1];
            pixels[3 * i + 2] = (float)((i * 7 + t * 13) % 256);
        }
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = (uint64_t)t;
        frame.pixels = pixels;
        frame.pixel_count = 100;
        SgapsFrameResult result;
        if (sgaps_session_submit(session, &frame, &buffers, &result) != SGAPS_STATUS_OK) {
            FAIL("submit");
        }
        if (result.frame_id != (uint64_t)t || result.width != 32 || result.height != 24) {
            FAIL("unexpected result");
        }
    }
    /* A failure on this thread leaves its own message, whatever the others do. */
    SgapsFrame empty = sgaps_frame_default();
    if (sgaps_session_submit(session, &empty, &buffers, &(SgapsFrameResult){0}) != SGAPS_STATUS_INVALID_FRAME ||
        strstr(sgaps_last_error(), "`pixels` is empty") == NULL) {
        FAIL("the empty frame");
    }
    SgapsSessionStats stats;
    if (sgaps_session_end(session, &stats) != SGAPS_STATUS_OK) {
        FAIL("end");
    }
    outcome->frames = stats.frames_reconstructed;
    sgaps_session_free(session);
    return NULL;
#undef FAIL
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CHECKPOINT_DIR\n", argv[0]);
        return 2;
    }
    char checkpoint_dir[4096];
    snprintf(checkpoint_dir, sizeof checkpoint_dir, "checkpoint_dir=%s", argv[1]);
    const char *overrides[] = {"model=spt_small", "model.resolution=[32,24]", "sampling.default_sample_count=100",
                               "device=cpu", checkpoint_dir};
    SgapsEngineOptions options = sgaps_engine_options_default();
    options.overrides = overrides;
    options.override_count = sizeof overrides / sizeof overrides[0];
    SgapsEngine *owned = NULL;
    if (sgaps_engine_open(&options, &owned) != SGAPS_STATUS_OK) {
        fprintf(stderr, "open: %s\n", sgaps_last_error());
        return 1;
    }
    engine = owned;

    pthread_t threads[THREADS];
    struct outcome outcomes[THREADS];
    memset(outcomes, 0, sizeof outcomes);
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, stream, &outcomes[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (outcomes[i].failed || outcomes[i].frames != FRAMES) {
            fprintf(stderr, "thread %d: %s (%llu frames)\n", i, outcomes[i].message,
                    (unsigned long long)outcomes[i].frames);
            failures++;
        }
    }
    if (sgaps_last_error()[0] != '\0') {
        fprintf(stderr, "the main thread sees another thread's error: %s\n", sgaps_last_error());
        failures++;
    }
    sgaps_engine_free(owned);
    printf("threads: %d sessions x %d frames on one engine, %d failed\n", THREADS, FRAMES, failures);
    return failures == 0 ? 0 : 1;
}
