/*
 * game_loop.c: a game's main loop at 60 Hz for 3 s through the plain C API. Each tick
 * submits a frame with sgaps_session_submit_async and takes what arrived with
 * sgaps_session_poll(0). Checks: no call takes longer than BOUND_MS (the median under
 * MEDIAN_BOUND_MS), every frame taken is answered exactly once and in order (a
 * reconstruction or SUPERSEDED), reconstructions arrive, the newest frame always
 * runs, and freeing a session with frames in flight leaves the engine serving.
 * Exits non-zero on any failure; prints what it measured.
 *
 *   game_loop CHECKPOINT_DIR
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sgaps.h"

#define TICKS 180
#define TICK_NS 16666667L
/* A blocking submit of this model takes 100-160 ms here; these calls only copy a frame
   in or a result out, but a busy 2-core machine deschedules a thread for a few ms. */
#define BOUND_MS 40.0
#define MEDIAN_BOUND_MS 1.0

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int fail(const char *what) {
    fprintf(stderr, "game_loop: %s: %s\n", what, sgaps_last_error());
    exit(1);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every call's duration, for the maximum and the median. */
static double calls[4 * TICKS + 64];
static size_t call_count;

static SgapsStatus timed_poll(const SgapsSession *session, const SgapsFrameBuffers *buffers, SgapsFrameResult *result) {
    double start = now_ms();
    SgapsStatus status = sgaps_session_poll(session, 0, buffers, result);
    if (call_count < sizeof calls / sizeof calls[0]) {
        calls[call_count++] = now_ms() - start;
    }
    return status;
}

/* (u, v, value) at each coordinate of a moving bright square over a gradient. */
static void sample(int t, const float *coordinates, uint32_t count, float *pixels) {
    for (uint32_t i = 0; i < count; i++) {
        float u = coordinates[2 * i], v = coordinates[2 * i + 1];
        int inside = u * 256 >= 20 + t && u * 256 < 60 + t && v * 240 >= 80 && v * 240 < 120;
        pixels[3 * i] = u;
        pixels[3 * i + 1] = v;
        pixels[3 * i + 2] = inside ? 250.0f : (float)(int)(v * 160.0f);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: game_loop CHECKPOINT_DIR\n");
        return 2;
    }
    char checkpoint_dir[4096];
    snprintf(checkpoint_dir, sizeof checkpoint_dir, "checkpoint_dir=%s", argv[1]);
    /* The built-in temporal model, slower than the trained default: at 60 Hz frames
       wait, and newer ones supersede them. */
    const char *overrides[] = {checkpoint_dir, "device=cpu", "model.temporal.channels=[64,128,256]"};
    SgapsEngineOptions options = sgaps_engine_options_default();
    options.overrides = overrides;
    options.override_count = sizeof overrides / sizeof overrides[0];
    SgapsEngine *engine = NULL;
    if (sgaps_engine_open(&options, &engine) != SGAPS_STATUS_OK) fail("open");
    SgapsEngineInfo info;
    if (sgaps_engine_get_info(engine, &info) != SGAPS_STATUS_OK) fail("info");

    size_t capacity = 2 * (size_t)info.max_sample_count;
    float *coordinates = malloc(capacity * sizeof(float));
    float *next = malloc(capacity * sizeof(float));
    float *pixels = malloc(3 * (size_t)info.max_sample_count * sizeof(float));
    SgapsSessionParams params;
    SgapsSession *session = NULL;
    if (sgaps_session_begin(engine, "game", 256, 240, &params, coordinates, capacity, &session) != SGAPS_STATUS_OK) {
        fail("begin");
    }
    size_t pixel_total = (size_t)params.width * params.height;
    uint8_t *reconstruction = malloc(pixel_total);
    float *importance = malloc(pixel_total * sizeof(float));
    SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
    buffers.reconstruction = reconstruction;
    buffers.reconstruction_capacity = pixel_total;
    buffers.importance = importance;
    buffers.importance_capacity = pixel_total;
    buffers.coordinates = next;
    buffers.coordinates_capacity = capacity;

    uint64_t submitted[TICKS], answered[TICKS];
    size_t submitted_count = 0, answered_count = 0, reconstructed = 0, busy = 0;
    double inference_sum = 0;
    int last_was_result = 0;
    SgapsFrameResult result;
    double start = now_ms();
    for (int t = 0; t < TICKS; t++) {
        sample(t, coordinates, params.sample_count, pixels);
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = (uint64_t)t;
        frame.timestamp = t / 60.0;
        frame.pixels = pixels;
        frame.pixel_count = params.sample_count;
        double call_start = now_ms();
        SgapsStatus status = sgaps_session_submit_async(session, &frame);
        calls[call_count++] = now_ms() - call_start;
        if (status == SGAPS_STATUS_OK) {
            submitted[submitted_count++] = (uint64_t)t;
        } else if (status == SGAPS_STATUS_BUSY) {
            busy++; /* not taken: no answer comes */
        } else {
            fail("submit_async");
        }
        /* Everything that arrived; PENDING ends the tick's polling. */
        while ((status = timed_poll(session, &buffers, &result)) != SGAPS_STATUS_PENDING) {
            if (status != SGAPS_STATUS_OK && status != SGAPS_STATUS_SUPERSEDED) fail("poll");
            if (answered_count == TICKS) fail("more answers than frames");
            answered[answered_count++] = result.frame_id;
            last_was_result = status == SGAPS_STATUS_OK;
            if (status == SGAPS_STATUS_OK) {
                reconstructed++;
                inference_sum += result.inference_ms;
                if (result.width != params.width || result.height != params.height) fail("result size");
                if (result.coordinates_updated) {
                    memcpy(coordinates, next, 2 * (size_t)result.coordinate_count * sizeof(float));
                }
            }
        }
        /* Sleep to the next tick. */
        double wake = start + (t + 1) * (TICK_NS / 1e6), left = wake - now_ms();
        if (left > 0) {
            struct timespec pause = {0, (long)(left * 1e6)};
            nanosleep(&pause, NULL);
        }
    }
    double elapsed = now_ms() - start;
    /* The loop is over: wait for what is still in flight. */
    while (answered_count < submitted_count) {
        SgapsStatus status = sgaps_session_poll(session, 10000, &buffers, &result);
        if (status == SGAPS_STATUS_PENDING) fail("no answer within 10 s");
        if (status != SGAPS_STATUS_OK && status != SGAPS_STATUS_SUPERSEDED) fail("poll after the loop");
        answered[answered_count++] = result.frame_id;
        last_was_result = status == SGAPS_STATUS_OK;
        reconstructed += status == SGAPS_STATUS_OK;
    }
    if (sgaps_session_poll(session, 100, &buffers, &result) != SGAPS_STATUS_PENDING) fail("an answer beyond one per frame");

    qsort(calls, call_count, sizeof calls[0], compare_doubles);
    double max = calls[call_count - 1], median = calls[call_count / 2];
    printf("60 Hz for %.2f s: %zu frames submitted, %zu busy, %zu reconstructed, %zu superseded; "
           "submit_async/poll(0) max %.2f ms, median %.3f ms over %zu calls; inference mean %.1f ms\n",
           elapsed / 1e3, submitted_count, busy, reconstructed, answered_count - reconstructed, max, median,
           call_count, reconstructed ? inference_sum / (double)reconstructed : 0.0);
    if (memcmp(answered, submitted, submitted_count * sizeof submitted[0]) != 0) {
        fprintf(stderr, "game_loop: answers are not one per frame in submission order\n");
        return 1;
    }
    if (max >= BOUND_MS || median >= MEDIAN_BOUND_MS) {
        fprintf(stderr, "game_loop: a call took %.2f ms (bound %.0f ms), median %.3f ms (bound %.1f ms)\n", max,
                BOUND_MS, median, MEDIAN_BOUND_MS);
        return 1;
    }
    if (reconstructed < 10 || !last_was_result) {
        fprintf(stderr, "game_loop: %zu reconstructions; the newest frame %s\n", reconstructed,
                last_was_result ? "ran" : "was not reconstructed");
        return 1;
    }
    SgapsSessionStats stats;
    if (sgaps_session_end(session, &stats) != SGAPS_STATUS_OK || stats.frames_reconstructed != reconstructed) {
        fail("the session's statistics");
    }
    sgaps_session_free(session);

    /* A session freed with frames in flight (one running, one waiting): the engine goes on. */
    if (sgaps_session_begin(engine, "game", 256, 240, &params, coordinates, capacity, &session) != SGAPS_STATUS_OK) {
        fail("begin again");
    }
    sample(0, coordinates, params.sample_count, pixels);
    SgapsFrame frame = sgaps_frame_default();
    frame.pixels = pixels;
    frame.pixel_count = params.sample_count;
    for (frame.frame_id = 0; frame.frame_id < 2; frame.frame_id++) {
        if (sgaps_session_submit_async(session, &frame) != SGAPS_STATUS_OK) fail("submit_async before the free");
    }
    sgaps_session_free(session);
    if (sgaps_session_begin(engine, "other", 256, 240, &params, coordinates, capacity, &session) != SGAPS_STATUS_OK) {
        fail("begin after the free");
    }
    if (sgaps_session_submit_async(session, &frame) != SGAPS_STATUS_OK) fail("submit_async after the free");
    if (sgaps_session_poll(session, 10000, &buffers, &result) != SGAPS_STATUS_OK || result.frame_id != 2) {
        fail("poll after the free");
    }
    printf("a session freed with 2 frames in flight; the next session is served\n");
    sgaps_session_free(session);
    sgaps_engine_free(engine);
    free(coordinates);
    free(next);
    free(pixels);
    free(reconstruction);
    free(importance);
    return 0;
}
