// sgaps.hpp: a header-only C++17 wrapper of the SGAPS C API (sgaps.h), for engines
// such as Unreal that link libsgaps in-process.
//
//   sgaps::Engine engine({"model=spt_small"});
//   sgaps::Session session = engine.begin_session("mario", 1920, 1080);
//   auto coordinates = session.initial_coordinates();            // (u, v) pairs
//   sgaps::FrameResult result = session.submit(frame_id, timestamp, pixels, state);
//   if (result.coordinates_updated()) coordinates = result.coordinates;
//
// A game loop that must not wait for inference submits without waiting and polls:
//
//   session.submit_async(frame_id, timestamp, pixels, state);   // every tick
//   while (std::optional<sgaps::Polled> polled = session.poll()) {  // what arrived
//       if (!polled->superseded) show(polled->result.reconstruction);
//   }
//
// Handles are move-only RAII objects; failures throw sgaps::Error carrying the status
// and the library's message. A Session keeps its engine alive. Thread safety is the C
// API's: one Engine may be shared by threads; use each Session from one thread at a time.
#ifndef SGAPS_HPP
#define SGAPS_HPP

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sgaps.h"

namespace sgaps {

// A failed call: status() is the C status code, what() the library's message.
class Error : public std::runtime_error {
public:
    Error(SgapsStatus status, const std::string &message) : std::runtime_error(message), status_(status) {}
    SgapsStatus status() const noexcept { return status_; }

private:
    SgapsStatus status_;
};

// A frame submitted with Session::submit_async that failed (e.g. SGAPS_STATUS_PANIC: a
// contained bug in its batch; the session goes on), thrown by Session::poll.
class FrameError : public Error {
public:
    FrameError(SgapsStatus status, const std::string &message, std::uint64_t frame_id)
        : Error(status, message), frame_id_(frame_id) {}
    std::uint64_t frame_id() const noexcept { return frame_id_; }

private:
    std::uint64_t frame_id_;
};

namespace detail {

inline std::string message(SgapsStatus status) {
    return std::string(sgaps_status_name(status)) + ": " + sgaps_last_error();
}

inline void check(SgapsStatus status) {
    if (status != SGAPS_STATUS_OK) {
        throw Error(status, message(status));
    }
}

struct EngineDeleter {
    void operator()(SgapsEngine *engine) const noexcept { sgaps_engine_free(engine); }
};

struct SessionDeleter {
    void operator()(SgapsSession *session) const noexcept { sgaps_session_free(session); }
};

}  // namespace detail

// One frame's results, in buffers this object owns.
struct FrameResult {
    SgapsFrameResult info{};
    std::vector<std::uint8_t> reconstruction;  // info.height x info.width, row-major
    std::vector<float> importance;             // info.height x info.width, in [0, 1]
    std::vector<float> coordinates;            // new (u, v) pairs; empty unless updated

    bool coordinates_updated() const noexcept { return info.coordinates_updated; }
    std::uint64_t target_frame_id() const noexcept { return info.target_frame_id; }
};

// One answer from Session::poll: a reconstruction, or a frame that a newer frame of the
// session replaced before it ran (not an error; there is no picture for it).
struct Polled {
    bool superseded = false;
    FrameResult result;  // only result.info.frame_id when superseded

    std::uint64_t frame_id() const noexcept { return result.info.frame_id; }
};

// What Session::rebind returns: the new parameters and the coordinates to sample next.
struct Binding {
    SgapsSessionParams params;
    std::vector<float> coordinates;  // (u, v) pairs
};

class Session {
public:
    const SgapsSessionParams &params() const noexcept { return params_; }
    std::uint64_t id() const noexcept { return params_.session_id; }
    // The coordinates to sample from frame 0 on: sample_count (u, v) pairs.
    const std::vector<float> &initial_coordinates() const noexcept { return initial_coordinates_; }

    // Reconstructs one frame. `pixels` holds (u, v, value) triples; `state` at most
    // params().max_state_dim values.
    FrameResult submit(std::uint64_t frame_id, double timestamp, const std::vector<float> &pixels,
                       const std::vector<float> &state = {}) {
        SgapsFrame frame = make_frame(frame_id, timestamp, pixels, state);
        FrameResult result;
        SgapsFrameBuffers buffers = make_buffers(result);
        detail::check(sgaps_session_submit(handle_.get(), &frame, &buffers, &result.info));
        fit(result);
        return result;
    }

    // Queues one frame (arguments as for submit) on the engine's inference worker and
    // returns at once; take its answer with poll(). Returns false when the engine's
    // queue is full (SGAPS_STATUS_BUSY): the frame was not taken and gets no answer. A
    // bad frame throws here. A newer frame replaces the session's waiting one, which
    // poll() answers as superseded. Do not mix with submit() on one session.
    bool submit_async(std::uint64_t frame_id, double timestamp, const std::vector<float> &pixels,
                      const std::vector<float> &state = {}) {
        SgapsFrame frame = make_frame(frame_id, timestamp, pixels, state);
        SgapsStatus status = sgaps_session_submit_async(handle_.get(), &frame);
        if (status == SGAPS_STATUS_BUSY) {
            return false;
        }
        detail::check(status);
        return true;
    }

    // The answer to the oldest frame submitted with submit_async, waiting at most
    // `timeout` (zero: only look); std::nullopt when none arrived in time. Answers come
    // once per frame, in submission order. A frame that failed throws FrameError.
    std::optional<Polled> poll(std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) {
        if (timeout.count() < 0 || timeout.count() > std::numeric_limits<std::uint32_t>::max()) {
            throw Error(SGAPS_STATUS_INVALID_ARGUMENT,
                        "poll timeout must be 0 to 2^32 - 1 ms, not " + std::to_string(timeout.count()));
        }
        Polled polled;
        SgapsFrameBuffers buffers = make_buffers(polled.result);
        SgapsStatus status = sgaps_session_poll(handle_.get(), static_cast<std::uint32_t>(timeout.count()), &buffers,
                                                &polled.result.info);
        switch (status) {
        case SGAPS_STATUS_OK:
            fit(polled.result);
            return polled;
        case SGAPS_STATUS_PENDING:
            return std::nullopt;
        case SGAPS_STATUS_SUPERSEDED:
            polled.superseded = true;
            fit(polled.result);
            return polled;
        case SGAPS_STATUS_NULL_ARGUMENT:
        case SGAPS_STATUS_INVALID_ARGUMENT:
        case SGAPS_STATUS_BUFFER_TOO_SMALL:
            throw Error(status, detail::message(status));  // the call's failure, not a frame's
        default:
            throw FrameError(status, detail::message(status), polled.result.info.frame_id);
        }
    }

    // Binds the session to the checkpoint its key names now (one registered since it
    // began; a session never changes model by itself). params() changes with it (the
    // resolution may); the history starts afresh. Poll every frame in flight first.
    Binding rebind() {
        Binding binding{};
        binding.coordinates.resize(2 * std::size_t{max_sample_count_});
        detail::check(sgaps_session_rebind(handle_.get(), &binding.params, binding.coordinates.data(),
                                           binding.coordinates.size()));
        binding.coordinates.resize(2 * std::size_t{binding.params.sample_count});
        params_ = binding.params;
        return binding;
    }

    // Drops the session's history (temporal models): the next frame starts afresh.
    void reset() { detail::check(sgaps_session_reset(handle_.get())); }

    // Ends the session and returns its totals; later frames throw UNKNOWN_SESSION.
    SgapsSessionStats end() {
        SgapsSessionStats stats{};
        detail::check(sgaps_session_end(handle_.get(), &stats));
        return stats;
    }

private:
    friend class Engine;
    Session(SgapsSession *handle, const SgapsSessionParams &params, std::vector<float> coordinates,
            std::uint32_t max_sample_count)
        : handle_(handle), params_(params), initial_coordinates_(std::move(coordinates)),
          max_sample_count_(max_sample_count) {}

    static SgapsFrame make_frame(std::uint64_t frame_id, double timestamp, const std::vector<float> &pixels,
                                 const std::vector<float> &state) {
        if (pixels.size() % 3 != 0) {
            throw Error(SGAPS_STATUS_INVALID_ARGUMENT,
                        "pixels must hold (u, v, value) triples, got " + std::to_string(pixels.size()) + " floats");
        }
        SgapsFrame frame = sgaps_frame_default();
        frame.frame_id = frame_id;
        frame.timestamp = timestamp;
        frame.pixels = pixels.data();
        frame.pixel_count = pixels.size() / 3;
        frame.state = state.data();
        frame.state_len = state.size();
        return frame;
    }

    // Sizes `result`'s vectors for this session and points C's buffers at them.
    SgapsFrameBuffers make_buffers(FrameResult &result) const {
        SgapsBufferSizes sizes{};
        detail::check(sgaps_session_buffer_sizes(handle_.get(), &sizes));
        result.reconstruction.resize(sizes.reconstruction);
        result.importance.resize(sizes.importance);
        result.coordinates.resize(sizes.coordinates);
        SgapsFrameBuffers buffers = sgaps_frame_buffers_default();
        buffers.reconstruction = result.reconstruction.data();
        buffers.reconstruction_capacity = result.reconstruction.size();
        buffers.importance = result.importance.data();
        buffers.importance_capacity = result.importance.size();
        buffers.coordinates = result.coordinates.data();
        buffers.coordinates_capacity = result.coordinates.size();
        return buffers;
    }

    // Trims `result`'s vectors to what the call wrote.
    static void fit(FrameResult &result) {
        std::size_t pixels_out = std::size_t{result.info.width} * result.info.height;
        result.reconstruction.resize(pixels_out);
        result.importance.resize(pixels_out);
        result.coordinates.resize(2 * std::size_t{result.info.coordinate_count});
    }

    std::unique_ptr<SgapsSession, detail::SessionDeleter> handle_;
    SgapsSessionParams params_;
    std::vector<float> initial_coordinates_;
    std::uint32_t max_sample_count_;
};

class Engine {
public:
    // Opens an engine on the built-in configuration (or `conf_dir` when not empty),
    // with overrides such as "model=spt_small".
    explicit Engine(const std::vector<std::string> &overrides = {}, const std::string &conf_dir = "") {
        if (sgaps_abi_version() != SGAPS_ABI_VERSION) {
            throw Error(SGAPS_STATUS_INVALID_ARGUMENT, "libsgaps has ABI " + std::to_string(sgaps_abi_version()) +
                                                           ", this header ABI " + std::to_string(SGAPS_ABI_VERSION));
        }
        std::vector<const char *> strings;
        for (const std::string &override_ : overrides) {
            strings.push_back(override_.c_str());
        }
        SgapsEngineOptions options = sgaps_engine_options_default();
        options.conf_dir = conf_dir.empty() ? nullptr : conf_dir.c_str();
        options.overrides = strings.data();
        options.override_count = strings.size();
        SgapsEngine *engine = nullptr;
        detail::check(sgaps_engine_open(&options, &engine));
        handle_.reset(engine);
    }

    SgapsEngineInfo info() const {
        SgapsEngineInfo info{};
        detail::check(sgaps_engine_get_info(handle_.get(), &info));
        return info;
    }

    Session begin_session(const std::string &checkpoint_key, std::uint32_t client_width,
                          std::uint32_t client_height) const {
        SgapsEngineInfo engine_info = info();
        std::vector<float> coordinates(2 * std::size_t{engine_info.sample_count});
        SgapsSessionParams params{};
        SgapsSession *session = nullptr;
        detail::check(sgaps_session_begin(handle_.get(), checkpoint_key.c_str(), client_width, client_height,
                                          &params, coordinates.data(), coordinates.size(), &session));
        coordinates.resize(2 * std::size_t{params.sample_count});
        return Session(session, params, std::move(coordinates), engine_info.max_sample_count);
    }

    // The keys of the checkpoints on disk, sorted.
    std::vector<std::string> checkpoints() const {
        std::size_t length = 0;
        detail::check(sgaps_engine_list_checkpoints(handle_.get(), nullptr, 0, &length));
        std::string text(length, '\0');
        SgapsStatus status;
        // A checkpoint written meanwhile makes the list longer: ask again.
        while ((status = sgaps_engine_list_checkpoints(handle_.get(), text.data(), text.size(), &length)) ==
               SGAPS_STATUS_BUFFER_TOO_SMALL) {
            text.resize(length);
        }
        detail::check(status);
        text.resize(length - 1);  // drop the NUL
        std::vector<std::string> keys;
        for (std::size_t start = 0; start < text.size();) {
            std::size_t end = text.find('\n', start);
            if (end == std::string::npos) {
                end = text.size();
            }
            keys.push_back(text.substr(start, end - start));
            start = end + 1;
        }
        return keys;
    }

    // Loads the checkpoint directory `dir` strictly and serves it as `key`.
    void register_checkpoint(const std::string &key, const std::string &dir) const {
        detail::check(sgaps_engine_register_checkpoint(handle_.get(), key.c_str(), dir.c_str()));
    }

private:
    std::unique_ptr<SgapsEngine, detail::EngineDeleter> handle_;
};

}  // namespace sgaps

#endif  // SGAPS_HPP
