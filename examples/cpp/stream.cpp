// stream.cpp: a game's view of SGAPS through the C++ wrapper (bindings/cpp/sgaps.hpp),
// on a real game clip.
//
// Plays CLIP.pgm (grey frames, binary PGMs back to back) as if it were the game's screen,
// with the state vectors of CLIP.states.txt: samples each frame where the engine says,
// submits the samples and the state, swaps to new coordinates when the engine sends
// them, and prints the reconstruction's PSNR next to linear interpolation of the same
// samples (both measured by sgaps_psnr against the screen).
//
//   make -C examples/cpp          # builds ./stream against target/debug/libsgaps.so
//   examples/cpp/stream examples/data/mario-1-2 [OVERRIDE...]
//
// The trained default model is built into libsgaps, so this works from any folder.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "sgaps.hpp"

namespace {

struct Clip {
    int width = 0, height = 0;
    std::vector<std::vector<std::uint8_t>> frames;  // height x width grey levels, top row first
    std::vector<std::vector<float>> states;
};

// Reads BASE.pgm (binary PGMs of one size, back to back) and BASE.states.txt.
Clip read_clip(const std::string &base) {
    Clip clip;
    std::ifstream pgm(base + ".pgm", std::ios::binary);
    if (!pgm) {
        throw std::runtime_error("cannot open " + base + ".pgm");
    }
    std::string magic;
    int width, height, max;
    while (pgm >> magic >> width >> height >> max) {
        if (magic != "P5" || max != 255 || (!clip.frames.empty() && (width != clip.width || height != clip.height))) {
            throw std::runtime_error(base + ".pgm: frame " + std::to_string(clip.frames.size()) +
                                     " is not an 8-bit PGM of the clip's size");
        }
        pgm.get();  // the one whitespace byte after the header
        clip.width = width, clip.height = height;
        std::vector<std::uint8_t> frame(static_cast<std::size_t>(width) * height);
        if (!pgm.read(reinterpret_cast<char *>(frame.data()), static_cast<std::streamsize>(frame.size()))) {
            throw std::runtime_error(base + ".pgm: frame " + std::to_string(clip.frames.size()) + " is cut short");
        }
        clip.frames.push_back(std::move(frame));
    }
    std::ifstream states(base + ".states.txt");
    for (std::string line; std::getline(states, line);) {
        std::istringstream values(line);
        clip.states.emplace_back();
        for (float value; values >> value;) {
            clip.states.back().push_back(value);
        }
    }
    if (clip.frames.empty() || clip.states.size() < clip.frames.size()) {
        throw std::runtime_error(base + ": no frames, or fewer states than frames");
    }
    return clip;
}

// PSNR of an image against the whole screen, resized as the engine resizes ground truth.
double psnr(const std::vector<std::uint8_t> &image, std::uint32_t width, std::uint32_t height, const Clip &clip,
            const std::vector<std::uint8_t> &screen) {
    double value = 0;
    sgaps::detail::check(sgaps_psnr(image.data(), width, height, screen.data(), static_cast<std::uint32_t>(clip.width),
                                    static_cast<std::uint32_t>(clip.height), &value));
    return value;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " CLIP [OVERRIDE...]   (CLIP: e.g. examples/data/mario-1-2)\n";
        return 2;
    }
    try {
        const Clip clip = read_clip(argv[1]);
        const int W = clip.width, H = clip.height;
        sgaps::Engine engine(std::vector<std::string>(argv + 2, argv + argc));
        sgaps::Session session = engine.begin_session("default", W, H);
        const SgapsSessionParams &p = session.params();
        std::printf("libsgaps %s, %u samples per frame; checkpoint %s, version %s (%s), reconstructs %ux%u\n",
                    sgaps_version(), p.sample_count, p.checkpoint_key, p.model_version,
                    p.checkpoint_loaded ? "trained" : "untrained weights", p.width, p.height);

        std::vector<float> coordinates = session.initial_coordinates();
        std::vector<std::uint8_t> linear(static_cast<std::size_t>(p.width) * p.height);
        double model_sum = 0, linear_sum = 0;
        for (std::size_t t = 0; t < clip.frames.size(); t++) {
            const std::vector<std::uint8_t> &screen = clip.frames[t];
            // Sample the screen at each (u, v): the pixel under it (v = 0 is the top row).
            std::vector<float> pixels;
            for (std::size_t i = 0; i + 1 < coordinates.size(); i += 2) {
                float u = coordinates[i], v = coordinates[i + 1];
                int x = std::min(static_cast<int>(u * W), W - 1), y = std::min(static_cast<int>(v * H), H - 1);
                pixels.insert(pixels.end(), {u, v, static_cast<float>(screen[y * W + x])});
            }
            sgaps::FrameResult result = session.submit(t, t / 10.0, pixels, clip.states[t]);
            if (result.coordinates_updated()) {
                // Sample at the new coordinates from frame target_frame_id (the next) on.
                coordinates = result.coordinates;
            }
            // The yardstick: linear interpolation of the same samples, measured the same way.
            sgaps::detail::check(sgaps_linear_interpolation(pixels.data(), pixels.size() / 3, p.width, p.height,
                                                            linear.data(), linear.size()));
            double model = psnr(result.reconstruction, p.width, p.height, clip, screen);
            double interpolated = psnr(linear, p.width, p.height, clip, screen);
            model_sum += model;
            linear_sum += interpolated;
            std::printf("frame %2zu: model %5.2f dB, linear interpolation %5.2f dB, %6.1f ms\n", t, model,
                        interpolated, result.info.inference_ms);
        }
        std::printf("mean PSNR over %zu frames: model %.2f dB, linear interpolation %.2f dB\n", clip.frames.size(),
                    model_sum / clip.frames.size(), linear_sum / clip.frames.size());
        session.end();
    } catch (const std::exception &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
