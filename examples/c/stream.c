/*
 * stream.c: a game's view of SGAPS through the C API, on a real game clip.
 *
 * Plays the clip CLIP.pgm (grey frames, one binary PGM after another) as if it were the
 * game's screen, with the state vectors of CLIP.states.txt (one line per frame): samples
 * each frame where the engine says, submits the samples and the state, swaps to new
 * coordinates when the engine sends them, and prints the reconstruction's PSNR next to
 * linear interpolation of the same samples. Writes the last frame's truth,
 * reconstruction, linear interpolation and importance heatmap as PNG files.
 *
 *   make -C examples/c            # builds ./stream against target/debug/libsgaps.so
 *   examples/c/stream examples/data/mario-1-2 /tmp/sgaps [OVERRIDE...]
 *
 * The trained default model is built into libsgaps, so this works from any folder.
 */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sgaps.h"

#define MAX_FRAMES 1024
#define MAX_STATE 64
#define MAX_OVERRIDES 32

/* A clip: frames of one size, each with its state vector. */
typedef struct {
    int width, height, frame_count, state_len;
    unsigned char *frames; /* frame_count * width * height grey levels, top row first */
    float states[MAX_FRAMES][MAX_STATE];
} Clip;

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

static FILE *open_file(const char *base, const char *suffix, char *path, size_t capacity) {
    snprintf(path, capacity, "%s%s", base, suffix);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return file;
}

/* Reads BASE.pgm (binary PGMs of one size, back to back) and BASE.states.txt. */
static void read_clip(const char *base, Clip *clip) {
    char path[4096];
    FILE *pgm = open_file(base, ".pgm", path, sizeof path);
    clip->frame_count = 0;
    int width, height, max;
    while (fscanf(pgm, " P5 %d %d %d", &width, &height, &max) == 3) {
        size_t size = (size_t)width * (size_t)height;
        if (fgetc(pgm) == EOF || max != 255 || clip->frame_count == MAX_FRAMES ||
            (clip->frame_count > 0 && (width != clip->width || height != clip->height))) {
            fprintf(stderr, "%s: frame %d is not an 8-bit PGM of the clip's size\n", path, clip->frame_count);
            exit(1);
        }
        clip->width = width, clip->height = height;
        clip->frames = realloc(clip->frames, (clip->frame_count + 1) * size);
        if (clip->frames == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        if (fread(clip->frames + clip->frame_count * size, 1, size, pgm) != size) {
            fprintf(stderr, "%s: frame %d is cut short\n", path, clip->frame_count);
            exit(1);
        }
        clip->frame_count++;
    }
    fclose(pgm);
    if (clip->frame_count == 0) {
        fprintf(stderr, "%s: no binary PGM frames\n", path);
        exit(1);
    }

    FILE *states = open_file(base, ".states.txt", path, sizeof path);
    char line[4096];
    for (int t = 0; t < clip->frame_count; t++) {
        if (fgets(line, sizeof line, states) == NULL) {
            fprintf(stderr, "%s: no state for frame %d\n", path, t);
            exit(1);
        }
        int count = 0, used;
        for (char *at = line; count < MAX_STATE && sscanf(at, "%f%n", &clip->states[t][count], &used) == 1; at += used) {
            count++;
        }
        clip->state_len = count;
    }
    fclose(states);
}

static void write_png(const char *out_dir, const char *name, const unsigned char *pixels, int width, int height) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.png", out_dir, name);
    check(sgaps_write_png_gray(path, pixels, (size_t)width * (size_t)height, (uint32_t)width, (uint32_t)height),
          "sgaps_write_png_gray");
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CLIP OUT_DIR [OVERRIDE...]   (CLIP: e.g. examples/data/mario-1-2)\n", argv[0]);
        return 2;
    }
    const char *out_dir = argv[2];
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    if (sgaps_abi_version() != SGAPS_ABI_VERSION) {
        fprintf(stderr, "libsgaps ABI %u, but this program was built for %u\n", sgaps_abi_version(),
                SGAPS_ABI_VERSION);
        return 1;
    }
    static Clip clip;
    read_clip(argv[1], &clip);
    int W = clip.width, H = clip.height;

    /* The built-in configuration (the trained default model); overrides from the command line. */
    const char *overrides[MAX_OVERRIDES];
    size_t override_count = 0;
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
    printf("libsgaps %s on %s, %u samples per frame (%.1f %% of a %dx%d screen)\n", sgaps_version(), info.device,
           info.sample_count, 100.0 * info.sample_count / (W * H), W, H);

    /* Begin a session: its parameters and the first coordinates to sample. */
    size_t coordinate_capacity = 2 * (size_t)info.sample_count;
    float *coordinates = allocate(coordinate_capacity, sizeof(float));
    SgapsSessionParams params;
    SgapsSession *session = NULL;
    check(sgaps_session_begin(engine, "default", (uint32_t)W, (uint32_t)H, &params, coordinates,
                              coordinate_capacity, &session),
          "sgaps_session_begin");
    printf("checkpoint %s, version %s (%s), reconstructs %ux%u\n", params.checkpoint_key, params.model_version,
           params.checkpoint_loaded ? "trained" : "untrained weights", params.width, params.height);

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
    unsigned char *linear = allocate(sizes.reconstruction, 1);

    float *pixels = allocate(3 * (size_t)params.sample_count, sizeof(float));
    double model_sum = 0, linear_sum = 0;
    const unsigned char *screen = NULL;
    for (int t = 0; t < clip.frame_count; t++) {
        screen = clip.frames + (size_t)t * W * H;
        /* Sample the screen at each (u, v): the pixel under it (v = 0 is the top row). */
        for (uint32_t i = 0; i < params.sample_count; i++) {
            float u = coordinates[2 * i], v = coordinates[2 * i + 1];
            int x = (int)(u * W), y = (int)(v * H);
            x = x < W ? x : W - 1;
            y = y < H ? y : H - 1;
            pixels[3 * i] = u;
            pixels[3 * i + 1] = v;
            pixels[3 * i + 2] = screen[y * W + x];
        }
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = (uint64_t)t;
        frame.timestamp = t / 10.0;
        frame.pixels = pixels;
        frame.pixel_count = params.sample_count;
        frame.state = clip.states[t];
        frame.state_len = (size_t)clip.state_len;
        /* The whole screen as ground truth, only so that quality can be measured. */
        frame.ground_truth = screen;
        frame.ground_truth_width = (uint32_t)W;
        frame.ground_truth_height = (uint32_t)H;

        SgapsFrameResult result;
        check(sgaps_session_submit(session, &frame, &buffers, &result), "sgaps_session_submit");
        /* The yardstick: linear interpolation of the same samples, measured the same way. */
        double linear_psnr;
        check(sgaps_linear_interpolation(pixels, params.sample_count, result.width, result.height, linear,
                                         sizes.reconstruction),
              "sgaps_linear_interpolation");
        check(sgaps_psnr(linear, result.width, result.height, screen, (uint32_t)W, (uint32_t)H, &linear_psnr),
              "sgaps_psnr");
        if (result.coordinates_updated) {
            /* Sample at the new coordinates from frame target_frame_id (the next) on. */
            memcpy(coordinates, buffers.coordinates, 2 * result.coordinate_count * sizeof(float));
        }
        model_sum += result.ground_truth_psnr;
        linear_sum += linear_psnr;
        printf("frame %2d: model %5.2f dB, linear interpolation %5.2f dB, %6.1f ms\n", t, result.ground_truth_psnr,
               linear_psnr, result.inference_ms);
    }
    printf("mean PSNR over %d frames: model %.2f dB, linear interpolation %.2f dB\n", clip.frame_count,
           model_sum / clip.frame_count, linear_sum / clip.frame_count);

    write_png(out_dir, "truth", screen, W, H);
    write_png(out_dir, "reconstruction", buffers.reconstruction, (int)params.width, (int)params.height);
    write_png(out_dir, "linear", linear, (int)params.width, (int)params.height);
    char path[4096];
    snprintf(path, sizeof path, "%s/importance.png", out_dir);
    check(sgaps_write_importance_png(path, buffers.importance, sizes.importance, params.width, params.height),
          "sgaps_write_importance_png");
    printf("wrote truth.png, reconstruction.png, linear.png and importance.png to %s\n", out_dir);

    SgapsSessionStats stats;
    check(sgaps_session_end(session, &stats), "sgaps_session_end");
    sgaps_session_free(session);
    sgaps_engine_free(engine);
    free(clip.frames);
    free(pixels);
    free(linear);
    free(buffers.coordinates);
    free(buffers.importance);
    free(buffers.reconstruction);
    free(coordinates);
    return 0;
}
