// The Unreal plugin's engine-independent code, run without the engine: the
// no-exceptions wrapper and SgapsDriver.hpp against the real libsgaps, with std::thread,
// built with -fno-exceptions -fno-rtti like an Unreal module.
//
//   driver_test CHECKPOINT_DIR
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "SgapsDriver.hpp"

using namespace sgaps;
using namespace sgaps::driver;

namespace {

int failures = 0;
std::string checkpoints;

#define CHECK(condition, ...)                                            \
    do {                                                                 \
        if (!(condition)) {                                              \
            std::printf("FAILED (%s:%d): ", __FILE__, __LINE__);        \
            std::printf(__VA_ARGS__);                                    \
            std::printf("\n");                                           \
            failures++;                                                  \
            return;                                                      \
        }                                                                \
    } while (0)

void Run(const char* name, void (*test)()) {
    int before = failures;
    test();
    if (failures == before) std::printf("ok: %s\n", name);
}

template <typename F>
bool WaitUntil(F condition, int timeout_ms = 60000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

nx::Status SmallEngine(nx::Engine& engine) {
    return nx::Engine::Open(nullptr,
                            {"model=spt_small", "model.resolution=[32,24]", "sampling.default_sample_count=100",
                             "mask_update=fixed", "device=cpu", "checkpoint_dir=" + checkpoints},
                            engine);
}

// grey(x, y_top) laid out as asked.
std::vector<uint8_t> Picture(int w, int h, int channels, RowOrder rows, int (*grey)(int, int), FrameView& view,
                             bool bgra = false) {
    std::vector<uint8_t> bytes(size_t(w) * h * channels);
    for (int y = 0; y < h; y++) {
        int row = rows == RowOrder::TopDown ? y : h - 1 - y;
        for (int x = 0; x < w; x++) {
            for (int c = 0; c < channels; c++) bytes[(size_t(row) * w + x) * channels + c] = uint8_t(c == 3 ? 255 : grey(x, y));
        }
    }
    view.data = bytes.data();
    view.length = bytes.size();
    view.width = w;
    view.height = h;
    view.channels = channels;
    view.stride = size_t(w) * channels;
    view.rows = rows;
    if (bgra) { view.red = 2; view.blue = 0; }
    return bytes;
}

void SamplingAndOrientation() {
    CHECK(SampleIndex(0.f, 10) == 0 && SampleIndex(1.f, 10) == 9 && SampleIndex(-1.f, 10) == 0, "edges");
    CHECK(SampleIndex(NAN, 10) == 0 && SampleIndex(0.7f, 10) == 7, "NaN and f32 product");
    CHECK(Luma(255, 0, 0) == 76 && Luma(0, 0, 255) == 29 && Luma(9, 9, 9) == 9, "BT.601");
    const float coordinates[] = {0.f, 0.f, 0.99f, 0.f, 0.f, 0.99f, 0.5f, 0.5f, 0.3f, 0.74f};
    const int expected[] = {0, 4, 120, 82, 81};
    for (RowOrder rows : {RowOrder::TopDown, RowOrder::BottomUp}) {
        for (int channels : {1, 3, 4}) {
            FrameView view;
            auto bytes = Picture(5, 4, channels, rows, [](int x, int y) { return 40 * y + x; }, view, channels == 4);
            float pixels[15];
            CHECK(Sample(view, coordinates, 5, pixels), "sample");
            for (int i = 0; i < 5; i++) {
                CHECK(pixels[3 * i + 2] == float(expected[i]), "%s %d channels, sample %d: %g",
                      rows == RowOrder::TopDown ? "top-down" : "bottom-up", channels, i, pixels[3 * i + 2]);
            }
        }
    }
    // BGRA: the blue byte first. A pure red pixel must read as red's luma.
    uint8_t bgra[4] = {0, 0, 255, 255};
    FrameView view;
    view.data = bgra; view.length = 4; view.width = 1; view.height = 1; view.channels = 4; view.stride = 4;
    view.red = 2; view.green = 1; view.blue = 0;
    float pixel[3];
    CHECK(Sample(view, coordinates, 1, pixel) && pixel[2] == 76.f, "BGRA red: %g", pixel[2]);
    view.length = 3;
    CHECK(!Sample(view, coordinates, 1, pixel), "a short buffer is refused");
}

double Psnr(const std::vector<float>& pixels, const std::vector<double>& predicted) {
    double sum = 0;
    size_t n = predicted.size();
    for (size_t i = 0; i < n; i++) {
        double d = double(pixels[3 * i + 2]) - predicted[i];
        sum += d * d;
    }
    double mse = sum / double(n);
    return mse == 0 ? 100.0 : std::min(100.0, 10 * std::log10(255.0 * 255.0 / mse));
}

// libsgaps scores each frame by sampling its reconstruction at the frame's pixels with
// Pixel::sample's rule; the driver's Sample on that reconstruction must agree exactly.
void CoreParity() {
    nx::Engine engine;
    nx::Status status = SmallEngine(engine);
    CHECK(status, "open: %s", status.message.c_str());
    nx::Session session;
    status = engine.BeginSession("parity", 320, 240, session);
    CHECK(status, "begin: %s", status.message.c_str());
    const int w = int(session.params().width), h = int(session.params().height);
    const size_t n = session.params().sample_count;
    std::vector<uint8_t> reconstruction(size_t(w) * h), bottom_up(reconstruction.size());
    std::mt19937 random(11);
    int sensitive = 0;
    for (uint64_t t = 0; t < 10; t++) {
        std::vector<float> pixels(3 * n), uv(2 * n), resampled(3 * n);
        for (size_t i = 0; i < n; i++) {
            // Pixel edges k / W in f32 and one ulp below, where rules part ways.
            float u = float(random() % (w + 1)) / float(w), v = float(random() % (h + 1)) / float(h);
            if (i % 2) { u = std::max(0.f, std::nextafter(u, -1.f)); v = std::max(0.f, std::nextafter(v, -1.f)); }
            pixels[3 * i] = uv[2 * i] = u;
            pixels[3 * i + 1] = uv[2 * i + 1] = v;
            pixels[3 * i + 2] = float(random() % 256);
        }
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = t;
        frame.pixels = pixels.data();
        frame.pixel_count = n;
        SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
        buffers.reconstruction = reconstruction.data();
        buffers.reconstruction_capacity = reconstruction.size();
        SgapsFrameResult result;
        status = session.Submit(frame, buffers, result);
        CHECK(status, "submit: %s", status.message.c_str());
        // What a bottom-up engine holds: the same image flipped.
        for (int y = 0; y < h; y++) std::memcpy(&bottom_up[size_t(h - 1 - y) * w], &reconstruction[size_t(y) * w], size_t(w));
        FrameView view;
        view.data = bottom_up.data(); view.length = bottom_up.size(); view.width = w; view.height = h;
        view.channels = 1; view.stride = size_t(w); view.rows = RowOrder::BottomUp;
        CHECK(Sample(view, uv.data(), n, resampled.data()), "resample");
        std::vector<double> ours(n), flipped(n);
        for (size_t i = 0; i < n; i++) {
            ours[i] = resampled[3 * i + 2];
            flipped[i] = reconstruction[size_t(h - 1 - SampleIndex(uv[2 * i + 1], h)) * w + SampleIndex(uv[2 * i], w)];
        }
        double psnr = Psnr(pixels, ours);
        CHECK(std::fabs(psnr - result.sample_psnr) < 1e-9, "frame %d: driver %.12f dB, libsgaps %.12f dB", int(t), psnr,
              result.sample_psnr);
        if (std::fabs(Psnr(pixels, flipped) - result.sample_psnr) > 1e-6) sensitive++;
    }
    CHECK(sensitive > 0, "the check cannot tell a flipped rule apart");
}

// nx's SubmitAsync, Poll and Rebind: each frame answered once, in order, the newest
// always reconstructed; an empty mailbox answers PENDING without a message.
void SubmitAsyncAndPoll() {
    nx::Engine engine;
    nx::Status status = SmallEngine(engine);
    CHECK(status, "open: %s", status.message.c_str());
    nx::Session session;
    status = engine.BeginSession("async", 320, 240, session);
    CHECK(status, "begin: %s", status.message.c_str());
    const size_t n = session.params().sample_count;
    std::vector<float> pixels(3 * n);
    for (size_t i = 0; i < n; i++) {
        pixels[3 * i] = session.initial_coordinates()[2 * i];
        pixels[3 * i + 1] = session.initial_coordinates()[2 * i + 1];
        pixels[3 * i + 2] = float(i % 256);
    }
    std::vector<uint8_t> reconstruction(session.reconstruction_size());
    SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
    buffers.reconstruction = reconstruction.data();
    buffers.reconstruction_capacity = reconstruction.size();
    SgapsFrameResult result;
    status = session.Poll(0, buffers, result);
    CHECK(status.code == SGAPS_STATUS_PENDING && status.message.empty(), "empty: %s", status.name());
    for (uint64_t t = 0; t < 3; t++) {
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = t;
        frame.pixels = pixels.data();
        frame.pixel_count = n;
        status = session.SubmitAsync(frame);
        CHECK(status, "submit_async: %s", status.message.c_str());
    }
    for (uint64_t t = 0; t < 3; t++) {
        status = session.Poll(10000, buffers, result);
        CHECK(status || status.code == SGAPS_STATUS_SUPERSEDED, "poll %d: %s", int(t), status.message.c_str());
        CHECK(result.frame_id == t, "answer %d is for frame %d", int(t), int(result.frame_id));
    }
    CHECK(status, "the newest frame is reconstructed, not %s", status.name());
    CHECK(session.Poll(50, buffers, result).code == SGAPS_STATUS_PENDING, "one answer per frame");
    // Nothing replaced the key's model: a rebind keeps the resolution, with fresh coordinates.
    std::vector<float> coordinates;
    status = session.Rebind(coordinates);
    CHECK(status, "rebind: %s", status.message.c_str());
    CHECK(coordinates.size() == 2 * n && session.params().width == 32 && session.params().height == 24,
          "rebind: %zu coordinates, %ux%u", coordinates.size(), session.params().width, session.params().height);
}

Coordinates Set(float value, size_t pairs = 2) { return std::make_shared<const std::vector<float>>(2 * pairs, value); }

void Schedule() {
    Coordinates a = Set(.1f), b = Set(.2f), c = Set(.3f);
    CoordinateSchedule schedule(a);
    schedule.Post(5, b);
    for (uint64_t f = 0; f < 5; f++) CHECK(schedule.For(f) == a, "frame %d keeps the old set", int(f));
    CHECK(schedule.For(5) == b && schedule.AppliedLate() == 0, "frame 5 takes the set targeted at it");
    schedule.Post(3, c);  // made for frame 3, arrives after frame 5: late
    CHECK(schedule.For(6) == c && schedule.For(7) == c, "a late set applies at the next capture");
    CHECK(schedule.AppliedLate() == 1 && schedule.CurrentFrom() == 6 && schedule.Applied() == 2, "counters");
}

// A backend that can hold the worker inside Submit.
class FakeBackend : public FrameBackend {
public:
    std::atomic<bool> hold{false}, inside{false}, closed_inside{false};
    std::atomic<int>* destroyed;
    std::vector<uint64_t> seen;
    std::mutex mutex;
    explicit FakeBackend(std::atomic<int>* destroyed_flag) : destroyed(destroyed_flag) {}
    ~FakeBackend() override {
        if (inside.load()) closed_inside = true;
        destroyed->fetch_add(1);
    }
    nx::Status Open(int, int, SessionInfo& out) override {
        out.sample_count = 2;
        out.max_state_dim = 2;
        out.width = 4;
        out.height = 3;
        out.initial_coordinates = {0.f, 0.f, 0.5f, 0.5f};
        return nx::Status();
    }
    nx::Status Submit(const FrameSlot& frame, uint8_t*, CoordinateSchedule&, FrameOutcome& out) override {
        inside = true;
        while (hold.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        {
            std::lock_guard<std::mutex> lock(mutex);
            seen.push_back(frame.frame_id);
        }
        out.frame_id = frame.frame_id;
        inside = false;
        return nx::Status();
    }
};

void NewestWinsAndShutdown() {
    std::atomic<int> destroyed{0};
    auto backend = std::make_unique<FakeBackend>(&destroyed);
    FakeBackend* fake = backend.get();
    fake->hold = true;
    DriverOptions options;
    options.client_width = 4;
    options.client_height = 4;
    options.queue_capacity = 2;
    options.max_in_flight = 2;
    std::unique_ptr<Driver> driver;
    nx::Status status = Driver::Create(std::move(backend), options, driver);
    CHECK(status, "create");
    std::vector<uint64_t> done;
    std::mutex done_mutex;
    driver->on_frame_done = [&](const FrameOutcome& o) {
        std::lock_guard<std::mutex> lock(done_mutex);
        done.push_back(o.frame_id);
    };
    FrameView view;
    auto bytes = Picture(4, 4, 4, RowOrder::TopDown, [](int, int) { return 9; }, view);
    FrameSlot* late = driver->BeginCapture(0);  // a readback still in flight at shutdown
    for (int i = 1; i <= 10; i++) {
        FrameSlot* slot = driver->BeginCapture(i);
        CHECK(slot, "slot %d", i);
        CHECK(driver->CompleteCapture(slot, view), "complete %d", i);
        if (i == 1) CHECK(WaitUntil([&] { return fake->inside.load(); }), "the worker takes frame 1");
    }
    CHECK(driver->FramesDropped() == 7, "dropped %d", int(driver->FramesDropped()));
    fake->hold = false;
    CHECK(WaitUntil([&] { std::lock_guard<std::mutex> lock(done_mutex); return done.size() == 3; }), "three frames");
    {
        std::lock_guard<std::mutex> lock(done_mutex);
        CHECK(done[0] == 1 && done[1] == 9 && done[2] == 10, "frame 1, then the newest two, in order");
    }
    // Shut down while the worker is inside Submit: Shutdown waits for it.
    fake->hold = true;
    FrameSlot* slot = driver->BeginCapture(11);
    CHECK(slot && driver->CompleteCapture(slot, view), "frame 11");
    CHECK(WaitUntil([&] { return fake->inside.load(); }), "the worker takes frame 11");
    std::thread stopper([&] { driver->Shutdown(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(destroyed.load() == 0, "the backend was freed under the worker");
    fake->hold = false;
    stopper.join();
    CHECK(destroyed.load() == 1, "the backend is freed once Submit returned");
    CHECK(driver->CompleteCapture(late, view), "a late readback after shutdown is taken and dropped");
    CHECK(driver->BeginCapture(12) == nullptr, "no captures after shutdown");
    driver.reset();
    CHECK(destroyed.load() == 1, "freed once");
}

// Four game threads, each with its own driver and session on one shared engine.
void EmbeddedThreads() {
    nx::Engine engine;
    nx::Status status = SmallEngine(engine);
    CHECK(status, "open: %s", status.message.c_str());
    std::atomic<int> errors{0};
    std::vector<std::string> messages(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([&, t] {
            DriverOptions options;
            options.client_width = 64;
            options.client_height = 48;
            options.reconstruct = true;
            std::unique_ptr<Driver> driver;
            nx::Status s = Driver::Create(std::make_unique<EmbeddedBackend>(engine, "game"), options, driver);
            if (!s) { messages[t] = "create: " + s.message; errors++; return; }
            std::vector<FrameOutcome> outcomes;
            std::mutex mutex;
            std::vector<Coordinates> used(40);
            driver->on_frame_done = [&](const FrameOutcome& o) { std::lock_guard<std::mutex> l(mutex); outcomes.push_back(o); };
            driver->on_frame_sampled = [&](const FrameSlot& slot) { used[slot.frame_id] = slot.coordinates; };
            FrameView view;
            auto bytes = Picture(64, 48, 4, RowOrder::TopDown, [](int x, int y) { return (x / 8 + y / 8) % 2 ? 220 : 30; }, view, true);
            // One readback in flight: frame f is begun before frame f - 1's pixels arrive,
            // and each frame is let through before the next (the session sees all 40).
            FrameSlot* previous = nullptr;
            for (int f = 0; f <= 40; f++) {
                float state[2] = {float(f), float(t)};
                driver->SetState(state, 2);
                FrameSlot* slot = f < 40 ? driver->BeginCapture(f / 10.0) : nullptr;
                if (previous) driver->CompleteCapture(previous, view);
                previous = slot;
                if (!WaitUntil([&] { std::lock_guard<std::mutex> l(mutex); return outcomes.size() == driver->FramesCaptured(); })) {
                    messages[t] = "the worker did not keep up"; errors++; return;
                }
            }
            std::vector<uint8_t> reconstruction(size_t(driver->Session().width) * driver->Session().height);
            uint64_t id = 0;
            std::lock_guard<std::mutex> l(mutex);
            bool ordered = true, applied = false;
            for (size_t i = 1; i < outcomes.size(); i++) ordered = ordered && outcomes[i].frame_id > outcomes[i - 1].frame_id;
            for (const FrameOutcome& o : outcomes) {
                if (!o.coordinates_updated) continue;
                for (uint64_t f = o.target_frame_id; f < used.size(); f++) applied = applied || (used[f] && used[f] != used[o.frame_id]);
            }
            if (driver->FramesFailed() || !ordered || !applied ||
                !driver->CopyLatestReconstruction(reconstruction.data(), RowOrder::TopDown, id) || id != outcomes.back().frame_id) {
                messages[t] = "failed " + std::to_string(driver->FramesFailed()) + " (" + driver->LastError() + "), ordered " +
                              std::to_string(ordered) + ", updates applied " + std::to_string(applied);
                errors++;
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (const std::string& m : messages) CHECK(m.empty(), "%s", m.c_str());
    CHECK(errors == 0, "errors");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: driver_test CHECKPOINT_DIR\n");
        return 2;
    }
    checkpoints = argv[1];
    Run("sampling rule and orientation (top-down, bottom-up, grey, RGB, BGRA)", SamplingAndOrientation);
    Run("sampling parity with the core: libsgaps' sample_psnr reproduced", CoreParity);
    Run("coordinate schedule: target_frame_id, late updates, order", Schedule);
    Run("queue: newest frame wins, results in order, shutdown while in Submit", NewestWinsAndShutdown);
    Run("nx: SubmitAsync and Poll, answers once each and in order; Rebind", SubmitAsyncAndPoll);
    Run("embedded: 4 std::threads, a driver each, one engine, updates applied", EmbeddedThreads);
    std::printf("Unreal driver: %s\n", failures == 0 ? "all passed" : "FAILED");
    return failures == 0 ? 0 : 1;
}
