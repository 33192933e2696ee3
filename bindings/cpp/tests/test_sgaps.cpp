// Tests of the C++ wrapper against the real libsgaps: a session streamed closed loop,
// sizes, errors as exceptions, checkpoints. Exits non-zero on the first failure.
//
//   test_sgaps CHECKPOINT_DIR
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "sgaps.hpp"

#define CHECK(condition)                                                                 \
    do {                                                                                 \
        if (!(condition)) {                                                              \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
            std::exit(1);                                                                \
        }                                                                                \
    } while (0)

// Runs `body`, which must throw sgaps::Error with `status` and a message containing `needle`.
template <typename Body>
static void expect_error(SgapsStatus status, const std::string &needle, Body body) {
    try {
        body();
    } catch (const sgaps::Error &error) {
        if (error.status() != status || std::string(error.what()).find(needle) == std::string::npos) {
            std::fprintf(stderr, "wrong error: %s (status %d)\n", error.what(), error.status());
            std::exit(1);
        }
        return;
    }
    std::fprintf(stderr, "expected an error containing \"%s\"\n", needle.c_str());
    std::exit(1);
}

static std::vector<float> sample(const std::vector<float> &coordinates, int t) {
    std::vector<float> pixels;
    for (std::size_t i = 0; i + 1 < coordinates.size(); i += 2) {
        float u = coordinates[i], v = coordinates[i + 1];
        float value = (u > 0.1f * t && u < 0.1f * t + 0.3f) ? 250.0f : v * 160.0f;
        pixels.insert(pixels.end(), {u, v, value});
    }
    return pixels;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CHECKPOINT_DIR\n", argv[0]);
        return 2;
    }
    const std::vector<std::string> overrides = {"model=spt_small", "model.resolution=[32,24]",
                                                "sampling.default_sample_count=100", "mask_update=fixed",
                                                "device=cpu", std::string("checkpoint_dir=") + argv[1]};
    expect_error(SGAPS_STATUS_CONFIG_ERROR, "no_such_key", [] { sgaps::Engine({"no_such_key=1"}); });

    sgaps::Engine engine(overrides);
    CHECK(engine.info().sample_count == 100);
    CHECK(engine.checkpoints().empty());

    sgaps::Session session = engine.begin_session("game", 64, 48);
    CHECK(session.params().width == 32 && session.params().height == 24);
    CHECK(std::string(session.params().checkpoint_key) == "default");
    CHECK(session.initial_coordinates().size() == 200);

    std::vector<float> coordinates = session.initial_coordinates();
    int updates = 0;
    for (int t = 0; t < 12; ++t) {
        sgaps::FrameResult result = session.submit(t, t / 10.0, sample(coordinates, t), {1.0f, 2.0f});
        CHECK(result.info.frame_id == static_cast<std::uint64_t>(t));
        CHECK(result.reconstruction.size() == 32 * 24 && result.importance.size() == 32 * 24);
        for (float value : result.importance) {
            CHECK(value >= 0.0f && value <= 1.0f);
        }
        if (result.coordinates_updated()) {
            CHECK(result.target_frame_id() == static_cast<std::uint64_t>(t) + 1);
            CHECK(result.coordinates.size() == 200);
            coordinates = result.coordinates;
            ++updates;
        } else {
            CHECK(result.coordinates.empty());
        }
    }
    CHECK(updates == 1);  // mask_update=fixed: every 10 frames

    // Bad input throws, naming the field; the session survives it.
    std::vector<float> bad = sample(coordinates, 0);
    bad[2] = 300.0f;
    expect_error(SGAPS_STATUS_INVALID_FRAME, "pixels[0].value", [&] { session.submit(12, 1.2, bad); });
    expect_error(SGAPS_STATUS_INVALID_ARGUMENT, "triples", [&] { session.submit(12, 1.2, {0.5f, 0.5f}); });
    expect_error(SGAPS_STATUS_CHECKPOINT_ERROR, "model.safetensors",
                 [&] { engine.register_checkpoint("tiny", std::string(argv[1]) + "/missing"); });

    // Handles move; the moved-to session ends it.
    sgaps::Session moved = std::move(session);
    SgapsSessionStats stats = moved.end();
    CHECK(stats.frames_reconstructed == 12 && stats.mask_updates == 1);
    expect_error(SGAPS_STATUS_UNKNOWN_SESSION, "unknown session", [&] { moved.submit(13, 1.3, bad); });

    std::printf("C++ wrapper: 12 frames, %d mask update, errors as exceptions: OK\n", updates);
    return 0;
}
