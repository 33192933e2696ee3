// sgaps.hpp: a header-only C++17 wrapper of the SGAPS C API (sgaps.h), for engines
// such as Unreal that link libsgaps in-process.
//
//   sgaps::Engine engine({"model=spt_small"});
//   sgaps::Session session = engine.begin_session("mario", 1920, 1080);
//   auto coordinates = session.initial_coordinates();            // (u, v) pairs
//   sgaps::FrameResult result = session.submit(frame_id, timestamp, pixels, state);
//   if (result.coordinates_updated()) coordinates = result.coordinates;
//
// Handles are move-only RAII objects; failures throw sgaps::Error carrying the status
// and the library's message. A Session keeps its engine alive. Thread safety is the C
// API's: one Engine may be shared by threads; use each Session from one thread at a time.
#ifndef SGAPS_HPP
#define SGAPS_HPP

#include <cstdint>
#include <memory>
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

namespace detail {

inline void check(SgapsStatus status) {
    if (status != SGAPS_STATUS_OK) {
        throw Error(status, std::string(sgaps_status_name(status)) + ": " + sgaps_last_error());
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

        SgapsBufferSizes sizes{};
        detail::check(sgaps_session_buffer_sizes(handle_.get(), &sizes));
        FrameResult result;
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
        detail::check(sgaps_session_submit(handle_.get(), &frame, &buffers, &result.info));
        std::size_t pixels_out = std::size_t{result.info.width} * result.info.height;
        result.reconstruction.resize(pixels_out);
        result.importance.resize(pixels_out);
        result.coordinates.resize(2 * std::size_t{result.info.coordinate_count});
        return result;
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
    Session(SgapsSession *handle, const SgapsSessionParams &params, std::vector<float> coordinates)
        : handle_(handle), params_(params), initial_coordinates_(std::move(coordinates)) {}

    std::unique_ptr<SgapsSession, detail::SessionDeleter> handle_;
    SgapsSessionParams params_;
    std::vector<float> initial_coordinates_;
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
        std::vector<float> coordinates(2 * std::size_t{info().sample_count});
        SgapsSessionParams params{};
        SgapsSession *session = nullptr;
        detail::check(sgaps_session_begin(handle_.get(), checkpoint_key.c_str(), client_width, client_height,
                                          &params, coordinates.data(), coordinates.size(), &session));
        coordinates.resize(2 * std::size_t{params.sample_count});
        return Session(session, params, std::move(coordinates));
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
