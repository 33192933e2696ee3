// Tests of the C++ wrapper against the real libsgaps: a session streamed closed loop,
// sizes, errors as exceptions, checkpoints, a 60 Hz game loop on submit_async/poll, and
// rebind to a checkpoint of another resolution. Exits non-zero on the first failure.
//
//   test_sgaps CHECKPOINT_DIR OTHER_CHECKPOINT
//
// OTHER_CHECKPOINT: a checkpoint folder whose resolution is not 32x24 (checkpoints/default).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
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

using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A game's main loop at 60 Hz for 3 s: submit_async and poll() every tick. No call may
// take BOUND_MS (a blocking submit of this model takes 100-160 ms here; a busy 2-core
// machine deschedules a thread for a few ms now and then), every frame is answered once
// and in order, reconstructions arrive, and the newest frame always runs.
static void game_loop(const std::string &checkpoint_dir) {
    const double BOUND_MS = 40.0, MEDIAN_BOUND_MS = 1.0;
    // The built-in temporal model, slower than the trained default: frames wait and
    // newer ones supersede them.
    sgaps::Engine engine({"device=cpu", "model.temporal.channels=[64,128,256]", "checkpoint_dir=" + checkpoint_dir});
    sgaps::Session session = engine.begin_session("game", 256, 240);
    std::vector<float> coordinates = session.initial_coordinates();
    std::vector<std::uint64_t> submitted, answered;
    std::vector<double> calls;
    std::size_t reconstructed = 0;
    bool newest_ran = false;
    auto take = [&](const sgaps::Polled &polled) {
        answered.push_back(polled.frame_id());
        newest_ran = !polled.superseded;
        if (!polled.superseded) {
            ++reconstructed;
            CHECK(polled.result.reconstruction.size() == std::size_t{session.params().width} * session.params().height);
            if (polled.result.coordinates_updated()) coordinates = polled.result.coordinates;
        }
    };
    const Clock::time_point start = Clock::now();
    for (int t = 0; t < 180; ++t) {
        std::vector<float> pixels = sample(coordinates, t % 8);
        Clock::time_point call = Clock::now();
        if (session.submit_async(t, t / 60.0, pixels)) submitted.push_back(t);  // false: busy, not taken
        calls.push_back(ms_since(call));
        for (;;) {
            call = Clock::now();
            std::optional<sgaps::Polled> polled = session.poll();
            calls.push_back(ms_since(call));
            if (!polled) break;
            take(*polled);
        }
        std::this_thread::sleep_until(start + (t + 1) * std::chrono::microseconds(16667));
    }
    const double elapsed = ms_since(start);
    while (answered.size() < submitted.size()) {
        std::optional<sgaps::Polled> polled = session.poll(std::chrono::seconds(10));
        CHECK(polled);  // else no answer within 10 s
        take(*polled);
    }
    CHECK(!session.poll(std::chrono::milliseconds(100)));  // no answer beyond one per frame
    std::sort(calls.begin(), calls.end());
    std::printf("60 Hz for %.2f s: %zu frames submitted, %zu reconstructed, %zu superseded; "
                "submit_async/poll() max %.2f ms, median %.3f ms over %zu calls\n",
                elapsed / 1e3, submitted.size(), reconstructed, answered.size() - reconstructed, calls.back(),
                calls[calls.size() / 2], calls.size());
    CHECK(answered == submitted);
    CHECK(calls.back() < BOUND_MS && calls[calls.size() / 2] < MEDIAN_BOUND_MS);
    CHECK(reconstructed >= 10 && newest_ran);
    CHECK(session.end().frames_reconstructed == reconstructed);

    // A session destroyed with frames in flight: the engine goes on serving.
    {
        sgaps::Session doomed = engine.begin_session("game", 256, 240);
        std::vector<float> pixels = sample(doomed.initial_coordinates(), 0);
        CHECK(doomed.submit_async(0, 0.0, pixels) && doomed.submit_async(1, 0.0, pixels));
    }
    sgaps::Session other = engine.begin_session("other", 256, 240);
    CHECK(other.submit_async(5, 0.0, sample(other.initial_coordinates(), 0)));
    std::optional<sgaps::Polled> polled = other.poll(std::chrono::seconds(10));
    CHECK(polled && !polled->superseded && polled->frame_id() == 5);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s CHECKPOINT_DIR OTHER_CHECKPOINT\n", argv[0]);
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

    // Rebind: a checkpoint of another resolution registered under a live session's key
    // reaches it only through rebind, with new sizes.
    sgaps::Session live = engine.begin_session("zelda", 64, 48);
    engine.register_checkpoint("zelda", argv[2]);
    CHECK(live.submit_async(0, 0.0, sample(live.initial_coordinates(), 0)));
    std::optional<sgaps::Polled> before = live.poll(std::chrono::seconds(10));
    CHECK(before && !before->superseded && before->result.reconstruction.size() == 32 * 24);
    sgaps::Binding binding = live.rebind();
    const SgapsSessionParams &p = live.params();
    CHECK(p.width == binding.params.width && p.height == binding.params.height && p.checkpoint_loaded);
    CHECK(std::string(p.checkpoint_key) == "zelda" && (p.width != 32 || p.height != 24));
    CHECK(binding.coordinates.size() == 2 * std::size_t{p.sample_count});
    CHECK(live.submit_async(1, 0.1, sample(binding.coordinates, 1)));
    std::optional<sgaps::Polled> after = live.poll(std::chrono::seconds(10));
    CHECK(after && !after->superseded && after->frame_id() == 1);
    CHECK(after->result.info.width == p.width && after->result.reconstruction.size() == std::size_t{p.width} * p.height);
    std::printf("rebind: 32x24 -> %ux%u\n", p.width, p.height);
    expect_error(SGAPS_STATUS_INVALID_FRAME, "pixels[0].value", [&] { live.submit_async(2, 0.2, bad); });
    expect_error(SGAPS_STATUS_INVALID_ARGUMENT, "timeout", [&] { live.poll(std::chrono::milliseconds(-1)); });

    game_loop(argv[1]);

    std::printf("C++ wrapper: 12 frames, %d mask update, errors as exceptions, submit_async/poll, rebind: OK\n", updates);
    return 0;
}
