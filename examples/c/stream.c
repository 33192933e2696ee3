/*
 * stream.c: a game's view of SGAPS through the C API.
 *
 * Renders a moving test pattern (a bright square sliding over a gradient) at the
 * "screen" resolution, samples it where the engine says, submits each frame, swaps to
 * new coordinates when the engine sends them, and writes the last frame's
 * reconstruction and importance heatmap as PNG files.
 *
 *   make -C examples/c            # builds ./stream against target/debug/libsgaps.so
 *   examples/c/stream OUT_DIR [FRAMES] [OVERRIDE...]
 *
 * e.g. `examples/c/stream /tmp/sgaps 30 model.resolution=[64,48]`. The engine runs the
 * small CPU model (model=spt_small) unless the overrides say otherwise; weights are
 * random unless a checkpoint exists under checkpoint_dir, so expect a blurry picture.
 */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sgaps.h"

#define SCREEN_WIDTH 160
#define SCREEN_HEIGHT 120
#define MAX_OVERRIDES 32

/* The test pattern's grey level at screen pixel (x, y) in frame t. */
static unsigned char pattern(int t, int x, int y) {
    int left = 10 + 3 * t;
    if (x >= left && x < left + 30 && y >= 40 && y < 70) {
        return 250;
    }
    return (unsigned char)(y * 160 / SCREEN_HEIGHT);
}

/* Prints the failed call's message and exits. */
static void check(SgapsStatus status, const char *what) {
    if (status != SGAPS_STATUS_OK) {
        fprintf(stderr, "%s failed (%s): %s\n", what, sgaps_status_name(status), sgaps_last_error());
        exit(1);
    }
}

static void *allocate(size_t count, size_t size) {
    void *memory = calloc(count, size);
    if (memory == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return memory;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [FRAMES] [OVERRIDE...]\n", argv[0]);
        return 2;
    }
    const char *out_dir = argv[1];
    int frames = argc > 2 ? atoi(argv[2]) : 30;
    if (frames <= 0) {
        fprintf(stderr, "FRAMES must be a positive number, not %s\n", argv[2]);
        return 2;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    if (sgaps_abi_version() != SGAPS_ABI_VERSION) {
        fprintf(stderr, "libsgaps ABI %u, but this program was built for %u\n", sgaps_abi_version(),
                SGAPS_ABI_VERSION);
        return 1;
    }

    /* The small CPU model first; the command line's overrides come after and win. */
    const char *overrides[MAX_OVERRIDES] = {"model=spt_small"};
    size_t override_count = 1;
    for (int i = 3; i < argc && override_count < MAX_OVERRIDES; i++) {
        overrides[override_count++] = argv[i];
    }
    SgapsEngineOptions options = sgaps_engine_options_default();
    options.overrides = overrides;
    options.override_count = override_count;
    SgapsEngine *engine = NULL;
    check(sgaps_engine_open(&options, &engine), "sgaps_engine_open");
    SgapsEngineInfo info;
    check(sgaps_engine_get_info(engine, &info), "sgaps_engine_get_info");
    printf("libsgaps %s on %s, %u samples per frame\n", sgaps_version(), info.device, info.sample_count);

    /* Begin a session: its parameters and the first coordinates to sample. */
    size_t coordinate_capacity = 2 * (size_t)info.sample_count;
    float *coordinates = allocate(coordinate_capacity, sizeof(float));
    SgapsSessionParams params;
    SgapsSession *session = NULL;
    check(sgaps_session_begin(engine, "default", SCREEN_WIDTH, SCREEN_HEIGHT, &params, coordinates,
                              coordinate_capacity, &session),
          "sgaps_session_begin");
    printf("session %llu: checkpoint %s (%s), reconstructs %ux%u\n",
           (unsigned long long)params.session_id, params.checkpoint_key, params.model_version,
           params.width, params.height);

    /* Caller-owned outputs, sized as the session asks. */
    SgapsBufferSizes sizes;
    check(sgaps_session_buffer_sizes(session, &sizes), "sgaps_session_buffer_sizes");
    SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
    buffers.reconstruction = allocate(sizes.reconstruction, 1);
    buffers.reconstruction_capacity = sizes.reconstruction;
    buffers.importance = allocate(sizes.importance, sizeof(float));
    buffers.importance_capacity = sizes.importance;
    buffers.coordinates = allocate(sizes.coordinates, sizeof(float));
    buffers.coordinates_capacity = sizes.coordinates;

    float *pixels = allocate(3 * (size_t)params.sample_count, sizeof(float));
    unsigned char *screen = allocate(SCREEN_WIDTH * SCREEN_HEIGHT, 1);
    for (int t = 0; t < frames; t++) {
        for (int y = 0; y < SCREEN_HEIGHT; y++) {
            for (int x = 0; x < SCREEN_WIDTH; x++) {
                screen[y * SCREEN_WIDTH + x] = pattern(t, x, y);
            }
        }
        /* Sample the screen at each (u, v): the pixel under it. */
        for (uint32_t i = 0; i < params.sample_count; i++) {
            float u = coordinates[2 * i], v = coordinates[2 * i + 1];
            int x = (int)(u * SCREEN_WIDTH), y = (int)(v * SCREEN_HEIGHT);
            x = x < SCREEN_WIDTH ? x : SCREEN_WIDTH - 1;
            y = y < SCREEN_HEIGHT ? y : SCREEN_HEIGHT - 1;
            pixels[3 * i] = u;
            pixels[3 * i + 1] = v;
            pixels[3 * i + 2] = screen[y * SCREEN_WIDTH + x];
        }
        float state[2] = {(float)t, 1.0f}; /* whatever the game knows: level, lives, ... */
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = (uint64_t)t;
        frame.timestamp = t / 10.0;
        frame.pixels = pixels;
        frame.pixel_count = params.sample_count;
        frame.state = state;
        frame.state_len = 2;
        /* The whole screen as ground truth, so the engine can tell us its PSNR. */
        frame.ground_truth = screen;
        frame.ground_truth_width = SCREEN_WIDTH;
        frame.ground_truth_height = SCREEN_HEIGHT;

        SgapsFrameResult result;
        check(sgaps_session_submit(session, &frame, &buffers, &result), "sgaps_session_submit");
        if (result.coordinates_updated) {
            /* Sample at the new coordinates from frame target_frame_id (the next) on. */
            memcpy(coordinates, buffers.coordinates, 2 * result.coordinate_count * sizeof(float));
        }
        printf("frame %2d: sample PSNR %5.2f dB, PSNR %5.2f dB, %6.1f ms%s\n", t, result.sample_psnr,
               result.ground_truth_psnr, result.inference_ms,
               result.coordinates_updated ? ", new coordinates" : "");
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/reconstruction.png", out_dir);
    check(sgaps_write_png_gray(path, buffers.reconstruction, sizes.reconstruction, params.width,
                               params.height),
          "sgaps_write_png_gray");
    printf("wrote %s\n", path);
    snprintf(path, sizeof path, "%s/importance.png", out_dir);
    check(sgaps_write_importance_png(path, buffers.importance, sizes.importance, params.width,
                                     params.height),
          "sgaps_write_importance_png");
    printf("wrote %s\n", path);

    SgapsSessionStats stats;
    check(sgaps_session_end(session, &stats), "sgaps_session_end");
    printf("%llu frames, %llu mask updates, mean PSNR %.2f dB\n",
           (unsigned long long)stats.frames_reconstructed, (unsigned long long)stats.mask_updates,
           stats.mean_psnr);

    sgaps_session_free(session);
    sgaps_engine_free(engine);
    free(screen);
    free(pixels);
    free(buffers.coordinates);
    free(buffers.importance);
    free(buffers.reconstruction);
    free(coordinates);
    return 0;
}
