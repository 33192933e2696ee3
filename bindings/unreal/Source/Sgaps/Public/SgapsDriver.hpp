// The engine-independent half of USgapsRecorderComponent, in plain C++17 (no Unreal
// headers, no exceptions, no RTTI): frame ids, the coordinates each capture uses, the
// state vector, sampling with the core's rule, and submission on one worker thread
// through a bounded queue where the newest frame wins. The component only captures:
// BeginCapture when it asks the GPU for a frame, CompleteCapture when the pixels are in
// memory. The same design as the Unity package's RecorderDriver (C#).
//
// Sampling: the value of pixel (floor(u * W), floor(v * H)) with v = 0 the TOP row, in
// single precision, as sgaps-core's `Pixel::sample`. Unreal textures and readbacks
// have row 0 at the top (RowOrder::TopDown); OpenGL-style buffers are BottomUp.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "SgapsNoExcept.hpp"

namespace sgaps {
namespace driver {

enum class RowOrder { TopDown, BottomUp };

// A captured frame in memory the caller owns: `channels` bytes per pixel (1 grey, 3 or
// 4 colour), rows `stride` bytes apart; red/green/blue give the byte of each colour
// (RGBA: 0, 1, 2; BGRA, Unreal's usual PF_B8G8R8A8: 2, 1, 0).
struct FrameView {
    const uint8_t* data = nullptr;
    size_t length = 0;
    int width = 0;
    int height = 0;
    int channels = 4;
    size_t stride = 0;
    RowOrder rows = RowOrder::TopDown;
    int red = 0, green = 1, blue = 2;

    bool Valid() const {
        if (!data || width <= 0 || height <= 0) return false;
        if (channels != 1 && channels != 3 && channels != 4) return false;
        if (stride < size_t(width) * channels) return false;
        if (channels > 1 && (std::min({red, green, blue}) < 0 || std::max({red, green, blue}) >= channels)) return false;
        return stride * size_t(height - 1) + size_t(width) * channels <= length;
    }
};

// floor(t * size) clamped to [0, size - 1], in f32 like the core's `(u * w as f32) as u32`
// (NaN and negatives go to 0, as Rust's saturating cast sends them).
inline int SampleIndex(float t, int size) {
    volatile float x = t * float(size);  // volatile: keep the product in single precision
    float product = x;
    if (!(product > 0.0f)) return 0;
    if (product >= float(size)) return size - 1;
    int i = int(product);
    return i < size ? i : size - 1;
}

// BT.601 luma, rounded; exact on greys.
inline int Luma(int r, int g, int b) { return (299 * r + 587 * g + 114 * b + 500) / 1000; }

inline int Value(const FrameView& f, int x, int y_top) {
    int row = f.rows == RowOrder::TopDown ? y_top : f.height - 1 - y_top;
    const uint8_t* p = f.data + size_t(row) * f.stride + size_t(x) * f.channels;
    return f.channels == 1 ? p[0] : Luma(p[f.red], p[f.green], p[f.blue]);
}

// (u, v, value) triples for `count` (u, v) pairs. False if the frame is malformed.
inline bool Sample(const FrameView& frame, const float* coordinates, size_t count, float* pixels) {
    if (!frame.Valid()) return false;
    for (size_t i = 0; i < count; i++) {
        float u = coordinates[2 * i], v = coordinates[2 * i + 1];
        pixels[3 * i] = u;
        pixels[3 * i + 1] = v;
        pixels[3 * i + 2] = float(Value(frame, SampleIndex(u, frame.width), SampleIndex(v, frame.height)));
    }
    return true;
}

using Coordinates = std::shared_ptr<const std::vector<float>>;

// The coordinates each frame is sampled at. Updates arrive with the frame they apply
// from (target_frame_id); one that arrives after its target frame was captured (late)
// applies from the next capture. Sets are immutable and shared.
class CoordinateSchedule {
public:
    explicit CoordinateSchedule(Coordinates initial) : current_(std::move(initial)) {}

    size_t Count() const { return current_->size() / 2; }

    // Any thread.
    void Post(uint64_t target_frame_id, Coordinates coordinates) {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_.push_back({target_frame_id, std::move(coordinates)});
    }

    // The set in effect for `frame_id` (ids must not go backwards).
    Coordinates For(uint64_t frame_id) {
        std::lock_guard<std::mutex> lock(mutex_);
        while (!pending_.empty() && pending_.front().first <= frame_id) {
            if (asked_ && last_asked_ >= pending_.front().first) applied_late_++;
            applied_++;
            current_ = std::move(pending_.front().second);
            current_from_ = std::max(pending_.front().first, frame_id);
            pending_.pop_front();
        }
        asked_ = true;
        last_asked_ = frame_id;
        return current_;
    }

    uint64_t Applied() const { std::lock_guard<std::mutex> lock(mutex_); return applied_; }
    uint64_t AppliedLate() const { std::lock_guard<std::mutex> lock(mutex_); return applied_late_; }
    uint64_t CurrentFrom() const { std::lock_guard<std::mutex> lock(mutex_); return current_from_; }

private:
    mutable std::mutex mutex_;
    std::deque<std::pair<uint64_t, Coordinates>> pending_;
    Coordinates current_;
    uint64_t current_from_ = 0, last_asked_ = 0, applied_ = 0, applied_late_ = 0;
    bool asked_ = false;
};

// One frame on its way to the worker.
struct FrameSlot {
    uint64_t frame_id = 0;
    double timestamp = 0;
    Coordinates coordinates;
    std::vector<float> pixels;  // (u, v, value) triples, pixel_count of them
    size_t pixel_count = 0;
    std::vector<float> state;
    size_t state_count = 0;
};

// Bounded hand-over to one worker, newest frame wins: beyond `capacity` waiting frames
// the oldest is dropped (SGAPS accepts gaps in frame ids). Slots are allocated once.
class FrameQueue {
public:
    FrameQueue(size_t capacity, size_t slots, size_t max_pixels, size_t max_state) : capacity_(capacity) {
        storage_.resize(slots);
        for (FrameSlot& slot : storage_) {
            slot.pixels.resize(3 * max_pixels);
            slot.state.resize(max_state);
            free_.push_back(&slot);
        }
    }

    // A slot to fill: a free one, else the oldest waiting frame (dropped), else nullptr.
    FrameSlot* Rent() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return nullptr;
        if (!free_.empty()) {
            FrameSlot* slot = free_.back();
            free_.pop_back();
            return slot;
        }
        if (!ready_.empty()) {
            FrameSlot* slot = ready_.front();
            ready_.pop_front();
            dropped_++;
            return slot;
        }
        return nullptr;
    }

    void Publish(FrameSlot* slot) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (closed_) {
                free_.push_back(slot);
                return;
            }
            ready_.push_back(slot);
            while (ready_.size() > capacity_) {
                free_.push_back(ready_.front());
                ready_.pop_front();
                dropped_++;
            }
        }
        wake_.notify_one();
    }

    void Release(FrameSlot* slot) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(slot);
    }

    // The next frame, oldest first; waits. nullptr once closed.
    FrameSlot* Take() {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return closed_ || !ready_.empty(); });
        if (closed_) return nullptr;
        FrameSlot* slot = ready_.front();
        ready_.pop_front();
        return slot;
    }

    void Close() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
            for (FrameSlot* slot : ready_) free_.push_back(slot);
            ready_.clear();
        }
        wake_.notify_all();
    }

    uint64_t Dropped() const { std::lock_guard<std::mutex> lock(mutex_); return dropped_; }

private:
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<FrameSlot> storage_;
    std::vector<FrameSlot*> free_;
    std::deque<FrameSlot*> ready_;
    size_t capacity_;
    uint64_t dropped_ = 0;
    bool closed_ = false;
};

// What a session runs with.
struct SessionInfo {
    size_t sample_count = 0;
    size_t max_state_dim = 0;
    uint32_t target_fps = 10;
    int width = 0, height = 0;  // reconstruction size
    std::string checkpoint_key, model_version;
    bool checkpoint_loaded = false;
    std::vector<float> initial_coordinates;
};

// What became of one frame.
struct FrameOutcome {
    uint64_t frame_id = 0;
    bool failed = false;
    std::string error;
    bool coordinates_updated = false;
    uint64_t target_frame_id = 0;
    bool reconstructed = false;
    double sample_psnr = 0, inference_ms = 0;
};

// Where frames go. Open once; Submit from the driver's one worker, in order.
class FrameBackend {
public:
    virtual ~FrameBackend() = default;
    virtual nx::Status Open(int client_width, int client_height, SessionInfo& out) = 0;
    // Writes the reconstruction (width * height bytes, top row first) when not null;
    // new coordinates go to `schedule`.
    virtual nx::Status Submit(const FrameSlot& frame, uint8_t* reconstruction, CoordinateSchedule& schedule,
                              FrameOutcome& out) = 0;
};

// libsgaps in-process, through the no-exceptions wrapper.
class EmbeddedBackend : public FrameBackend {
public:
    // Uses `engine` (kept alive by the session, so the caller may drop its handle).
    EmbeddedBackend(const nx::Engine& engine, std::string checkpoint_key)
        : engine_(engine), key_(std::move(checkpoint_key)) {}

    nx::Status Open(int client_width, int client_height, SessionInfo& out) override {
        nx::Status status = engine_.BeginSession(key_.c_str(), uint32_t(client_width), uint32_t(client_height), session_);
        if (!status) return status;
        const SgapsSessionParams& p = session_.params();
        out.sample_count = p.sample_count;
        out.max_state_dim = p.max_state_dim;
        out.target_fps = p.target_fps;
        out.width = int(p.width);
        out.height = int(p.height);
        out.checkpoint_key = p.checkpoint_key;
        out.model_version = p.model_version;
        out.checkpoint_loaded = p.checkpoint_loaded;
        out.initial_coordinates = session_.initial_coordinates();
        next_.assign(session_.coordinates_size(), 0.0f);
        return status;
    }

    nx::Status Submit(const FrameSlot& frame, uint8_t* reconstruction, CoordinateSchedule& schedule,
                      FrameOutcome& out) override {
        SgapsFrame f = sgaps_frame_default();
        f.frame_id = frame.frame_id;
        f.timestamp = frame.timestamp;
        f.pixels = frame.pixels.data();
        f.pixel_count = frame.pixel_count;
        f.state = frame.state_count ? frame.state.data() : nullptr;
        f.state_len = frame.state_count;
        SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
        buffers.reconstruction = reconstruction;
        buffers.reconstruction_capacity = reconstruction ? session_.reconstruction_size() : 0;
        buffers.coordinates = next_.data();
        buffers.coordinates_capacity = next_.size();
        SgapsFrameResult result;
        nx::Status status = session_.Submit(f, buffers, result);
        if (!status) return status;
        out.frame_id = result.frame_id;
        out.coordinates_updated = result.coordinates_updated;
        out.target_frame_id = result.target_frame_id;
        out.reconstructed = reconstruction != nullptr;
        out.sample_psnr = result.sample_psnr;
        out.inference_ms = result.inference_ms;
        if (result.coordinates_updated) {
            schedule.Post(result.target_frame_id, std::make_shared<const std::vector<float>>(next_));
        }
        return status;
    }

private:
    const nx::Engine& engine_;
    std::string key_;
    nx::Session session_;
    std::vector<float> next_;
};

struct DriverOptions {
    int client_width = 0, client_height = 0;
    size_t queue_capacity = 2;
    size_t max_in_flight = 4;
    bool reconstruct = false;  // keep the latest reconstruction
};

// Capture on the game thread, submit on a worker std::thread.
class Driver {
public:
    // Opens the backend's session and starts the worker. On failure `out` stays empty.
    static nx::Status Create(std::unique_ptr<FrameBackend> backend, const DriverOptions& options,
                             std::unique_ptr<Driver>& out) {
        std::unique_ptr<Driver> driver(new Driver(std::move(backend)));
        nx::Status status = driver->backend_->Open(options.client_width, options.client_height, driver->session_);
        if (!status) return status;
        const SessionInfo& s = driver->session_;
        if (s.initial_coordinates.empty() || s.initial_coordinates.size() != 2 * s.sample_count) {
            return nx::Status::Fail(SGAPS_STATUS_INVALID_ARGUMENT, "the session gave no initial coordinates");
        }
        driver->schedule_.reset(
            new CoordinateSchedule(std::make_shared<const std::vector<float>>(s.initial_coordinates)));
        size_t capacity = std::max<size_t>(1, options.queue_capacity);
        driver->queue_.reset(new FrameQueue(capacity, capacity + options.max_in_flight + 1, s.sample_count,
                                            s.max_state_dim));
        driver->state_.assign(s.max_state_dim, 0.0f);
        if (options.reconstruct) {
            driver->working_.assign(size_t(s.width) * s.height, 0);
            driver->latest_.assign(driver->working_.size(), 0);
        }
        Driver* raw = driver.get();
        driver->worker_ = std::thread([raw] { raw->Work(); });
        out = std::move(driver);
        return status;
    }

    ~Driver() { Shutdown(); }

    const SessionInfo& Session() const { return session_; }
    CoordinateSchedule& Schedule() { return *schedule_; }

    // Called on the worker after every frame, in frame order. Set before capturing.
    std::function<void(const FrameOutcome&)> on_frame_done;
    // Called on the capturing thread when a frame is sampled, before it is queued.
    std::function<void(const FrameSlot&)> on_frame_sampled;

    // The state vector for the next captures; false if longer than max_state_dim.
    bool SetState(const float* values, size_t count) {
        if (count > state_.size()) return false;
        std::lock_guard<std::mutex> lock(state_mutex_);
        std::copy(values, values + count, state_.begin());
        state_count_ = count;
        return true;
    }

    bool SetStateValue(size_t index, float value) {
        if (index >= state_.size()) return false;
        std::lock_guard<std::mutex> lock(state_mutex_);
        for (size_t i = state_count_; i < index; i++) state_[i] = 0.0f;
        state_[index] = value;
        state_count_ = std::max(state_count_, index + 1);
        return true;
    }

    // Starts a capture: the next frame id, the coordinates in effect for it, the state
    // now. nullptr after Shutdown or when every slot is busy (skip this frame).
    FrameSlot* BeginCapture(double timestamp) {
        if (stopped_.load()) return nullptr;
        FrameSlot* slot = queue_->Rent();
        if (!slot) {
            skipped_++;
            return nullptr;
        }
        slot->frame_id = next_frame_id_++;
        slot->timestamp = timestamp;
        slot->coordinates = schedule_->For(slot->frame_id);
        slot->pixel_count = 0;
        std::lock_guard<std::mutex> lock(state_mutex_);
        std::copy(state_.begin(), state_.begin() + state_count_, slot->state.begin());
        slot->state_count = state_count_;
        return slot;
    }

    // Samples the pixels at the slot's coordinates and queues the frame. False (and the
    // slot given back) if the frame is malformed.
    bool CompleteCapture(FrameSlot* slot, const FrameView& frame) {
        size_t count = slot->coordinates->size() / 2;
        if (!Sample(frame, slot->coordinates->data(), count, slot->pixels.data())) {
            queue_->Release(slot);
            return false;
        }
        slot->pixel_count = count;
        captured_++;
        if (on_frame_sampled) on_frame_sampled(*slot);
        queue_->Publish(slot);  // after Shutdown the queue takes it back
        return true;
    }

    void CancelCapture(FrameSlot* slot) {
        if (slot) queue_->Release(slot);
    }

    // Copies the newest reconstruction not yet copied (width * height bytes) in the row
    // order asked for. False when none is new.
    bool CopyLatestReconstruction(uint8_t* destination, RowOrder rows, uint64_t& frame_id) {
        std::lock_guard<std::mutex> lock(reconstruction_mutex_);
        frame_id = latest_frame_id_;
        if (!latest_fresh_) return false;
        const size_t w = size_t(session_.width), h = size_t(session_.height);
        for (size_t y = 0; y < h; y++) {
            size_t to = rows == RowOrder::TopDown ? y : h - 1 - y;
            std::memcpy(destination + to * w, latest_.data() + y * w, w);
        }
        latest_fresh_ = false;
        return true;
    }

    uint64_t FramesCaptured() const { return captured_.load(); }
    uint64_t FramesSubmitted() const { return submitted_.load(); }
    uint64_t FramesFailed() const { return failed_.load(); }
    uint64_t FramesSkipped() const { return skipped_.load(); }
    uint64_t FramesDropped() const { return queue_->Dropped(); }
    std::string LastError() const {
        std::lock_guard<std::mutex> lock(error_mutex_);
        return last_error_;
    }
    bool Stopped() const { return stopped_.load(); }

    // Stops taking frames, waits for the frame being submitted, drops waiting ones and
    // closes the backend. Captures completed afterwards are dropped. Idempotent.
    void Shutdown() {
        if (stopped_.exchange(true)) return;
        if (queue_) queue_->Close();
        if (worker_.joinable()) worker_.join();
        backend_.reset();
    }

private:
    explicit Driver(std::unique_ptr<FrameBackend> backend) : backend_(std::move(backend)) {}

    void Work() {
        for (FrameSlot* slot = queue_->Take(); slot; slot = queue_->Take()) {
            FrameOutcome outcome;
            nx::Status status =
                backend_->Submit(*slot, working_.empty() ? nullptr : working_.data(), *schedule_, outcome);
            if (status) {
                submitted_++;
                if (outcome.reconstructed && !working_.empty()) {
                    std::lock_guard<std::mutex> lock(reconstruction_mutex_);
                    working_.swap(latest_);
                    latest_frame_id_ = outcome.frame_id;
                    latest_fresh_ = true;
                }
            } else {
                // A bad frame: count it and go on with the next.
                failed_++;
                outcome = FrameOutcome();
                outcome.frame_id = slot->frame_id;
                outcome.failed = true;
                outcome.error = std::string(status.name()) + ": " + status.message;
                std::lock_guard<std::mutex> lock(error_mutex_);
                last_error_ = outcome.error;
            }
            queue_->Release(slot);
            if (on_frame_done) on_frame_done(outcome);
        }
    }

    std::unique_ptr<FrameBackend> backend_;
    SessionInfo session_;
    std::unique_ptr<CoordinateSchedule> schedule_;
    std::unique_ptr<FrameQueue> queue_;
    std::thread worker_;
    std::atomic<bool> stopped_{false};
    uint64_t next_frame_id_ = 0;

    std::mutex state_mutex_;
    std::vector<float> state_;
    size_t state_count_ = 0;

    std::mutex reconstruction_mutex_;
    std::vector<uint8_t> working_, latest_;
    uint64_t latest_frame_id_ = 0;
    bool latest_fresh_ = false;

    std::atomic<uint64_t> captured_{0}, submitted_{0}, failed_{0}, skipped_{0};
    mutable std::mutex error_mutex_;
    std::string last_error_;
};

}  // namespace driver
}  // namespace sgaps
