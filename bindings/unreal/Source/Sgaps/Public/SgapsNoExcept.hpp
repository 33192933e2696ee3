// sgaps::nx: a C++17 wrapper over include/sgaps.h for code built with exceptions off
// (Unreal's default): every call that can fail returns an sgaps::nx::Status, never
// throws. Handles are move-only RAII types that free exactly once. No engine headers.
//
//   sgaps::nx::Engine engine;
//   sgaps::nx::Status status = sgaps::nx::Engine::Open(nullptr, {"model=spt_small"}, engine);
//   if (!status) { log(status.message); return; }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sgaps.h"

namespace sgaps {
namespace nx {

// The outcome of a call: the C status and, on failure, the library's message.
struct Status {
    SgapsStatus code = SGAPS_STATUS_OK;
    std::string message;

    explicit operator bool() const { return code == SGAPS_STATUS_OK; }
    const char* name() const { return sgaps_status_name(static_cast<int32_t>(code)); }

    // Wraps a returned code, with this thread's message when it failed.
    static Status From(SgapsStatus code) {
        Status status;
        status.code = code;
        if (code != SGAPS_STATUS_OK) status.message = sgaps_last_error();
        return status;
    }
    static Status Fail(SgapsStatus code, std::string message) {
        Status status;
        status.code = code;
        status.message = std::move(message);
        return status;
    }
};

class Session;

class Engine {
public:
    Engine() = default;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    Engine(Engine&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Engine& operator=(Engine&& other) noexcept {
        if (this != &other) {
            sgaps_engine_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    ~Engine() { sgaps_engine_free(handle_); }

    // Opens an engine on `conf_dir` (nullptr: the configuration built into libsgaps)
    // with overrides such as "model=spt_small". Checks the ABI version first.
    static Status Open(const char* conf_dir, const std::vector<std::string>& overrides, Engine& out) {
        if (sgaps_abi_version() != SGAPS_ABI_VERSION) {
            return Status::Fail(SGAPS_STATUS_INVALID_ARGUMENT,
                                "libsgaps has ABI " + std::to_string(sgaps_abi_version()) + ", this header " +
                                    std::to_string(SGAPS_ABI_VERSION));
        }
        std::vector<const char*> pointers;
        pointers.reserve(overrides.size());
        for (const std::string& o : overrides) pointers.push_back(o.c_str());
        SgapsEngineOptions options = sgaps_engine_options_default();
        options.conf_dir = conf_dir;
        options.overrides = pointers.empty() ? nullptr : pointers.data();
        options.override_count = pointers.size();
        SgapsEngine* handle = nullptr;
        Status status = Status::From(sgaps_engine_open(&options, &handle));
        if (status) out = Engine(handle);
        return status;
    }

    bool valid() const { return handle_ != nullptr; }
    const SgapsEngine* get() const { return handle_; }

    Status Info(SgapsEngineInfo& out) const { return Status::From(sgaps_engine_get_info(handle_, &out)); }

    // Begins a session; `checkpoint_key` nullptr means "default".
    inline Status BeginSession(const char* checkpoint_key, uint32_t client_width, uint32_t client_height,
                               Session& out) const;

private:
    explicit Engine(SgapsEngine* handle) : handle_(handle) {}
    SgapsEngine* handle_ = nullptr;
};

class Session {
public:
    Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&& other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), params_(other.params_),
          initial_(std::move(other.initial_)), max_sample_count_(other.max_sample_count_) {}
    Session& operator=(Session&& other) noexcept {
        if (this != &other) {
            sgaps_session_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
            params_ = other.params_;
            initial_ = std::move(other.initial_);
            max_sample_count_ = other.max_sample_count_;
        }
        return *this;
    }
    ~Session() { sgaps_session_free(handle_); }

    bool valid() const { return handle_ != nullptr; }
    const SgapsSessionParams& params() const { return params_; }
    // (u, v) pairs to sample from frame 0 on: 2 * sample_count floats.
    const std::vector<float>& initial_coordinates() const { return initial_; }
    size_t reconstruction_size() const { return size_t(params_.width) * params_.height; }
    size_t coordinates_size() const { return 2 * size_t(params_.sample_count); }

    // One frame: reconstruction into `buffers` (caller memory), result into `out`.
    Status Submit(const SgapsFrame& frame, const SgapsFrameBuffers& buffers, SgapsFrameResult& out) const {
        return Status::From(sgaps_session_submit(handle_, &frame, &buffers, &out));
    }

    // Queues one frame on the engine's inference worker and returns at once (the frame
    // is copied). SGAPS_STATUS_BUSY: the queue is full, the frame was not taken. Take
    // its answer with Poll. Do not mix with Submit on one session.
    Status SubmitAsync(const SgapsFrame& frame) const {
        return Status::From(sgaps_session_submit_async(handle_, &frame));
    }

    // The answer to the oldest frame from SubmitAsync, waiting at most `timeout_ms`
    // (0: only look). code OK: `buffers` and `out` are written; SGAPS_STATUS_PENDING:
    // nothing yet (no message, so polling every tick allocates nothing);
    // SGAPS_STATUS_SUPERSEDED: frame out.frame_id was replaced by a newer one before it
    // ran; another code: that frame's failure. Answers come in submission order.
    Status Poll(uint32_t timeout_ms, const SgapsFrameBuffers& buffers, SgapsFrameResult& out) const {
        SgapsStatus code = sgaps_session_poll(handle_, timeout_ms, &buffers, &out);
        return code == SGAPS_STATUS_PENDING ? Status::Fail(code, std::string()) : Status::From(code);
    }

    // Binds the session to the checkpoint its key names now; params() and the sizes
    // above change with it, `coordinates` receives the (u, v) pairs to sample next. Poll
    // every frame in flight first.
    Status Rebind(std::vector<float>& coordinates) {
        SgapsSessionParams params{};
        coordinates.assign(2 * size_t(max_sample_count_), 0.0f);
        Status status = Status::From(sgaps_session_rebind(handle_, &params, coordinates.data(), coordinates.size()));
        if (!status) return status;
        params_ = params;
        coordinates.resize(2 * size_t(params.sample_count));
        return status;
    }

    Status End(SgapsSessionStats& out) const { return Status::From(sgaps_session_end(handle_, &out)); }

private:
    friend class Engine;
    SgapsSession* handle_ = nullptr;
    SgapsSessionParams params_{};
    std::vector<float> initial_;
    uint32_t max_sample_count_ = 0;  // room for Rebind's coordinates
};

inline Status Engine::BeginSession(const char* checkpoint_key, uint32_t client_width, uint32_t client_height,
                                   Session& out) const {
    SgapsEngineInfo info;
    Status status = Info(info);
    if (!status) return status;
    Session session;
    session.initial_.assign(2 * size_t(info.sample_count), 0.0f);
    session.max_sample_count_ = info.max_sample_count;
    status = Status::From(sgaps_session_begin(handle_, checkpoint_key, client_width, client_height, &session.params_,
                                              session.initial_.data(), session.initial_.size(), &session.handle_));
    if (status) out = std::move(session);
    return status;
}

}  // namespace nx
}  // namespace sgaps
