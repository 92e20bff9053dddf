// SPDX-License-Identifier: MIT
#include "cli/inputs.h"

#include "cli/decode_options.h"
#include "common/error.h"
#include "data/libero_reader.h"

#include <algorithm>

namespace specvla::cli {

const char* const kInputOptionsHelp =
    "  --image PNG          one image; HF processor preprocessing only unless --flip / --jpeg /\n"
    "                       --center-crop or --libero-preprocess\n"
    "  --episode FILE       a LIBERO HDF5 file (raw or regenerated layout); LIBERO preprocessing "
    "(180-degree\n"
    "                       flip, JPEG round trip, 0.9-area centre crop) on unless --no-libero-preprocess\n"
    "  --demo-index N       which demo_N (default 0);  --steps A:B  half-open step range (A:, :B allowed)\n"
    "  --instruction TEXT   the task (episodes default to the file's problem_info or file name)\n";

std::set<std::string> inputValueOptions() {
    return {"image", "episode", "demo-index", "steps", "instruction"};
}
std::set<std::string> inputFlags() {
    return {"libero-preprocess", "no-libero-preprocess", "flip", "jpeg", "center-crop"};
}

namespace {

std::pair<int, int> parseSteps(const std::string& s, int total) {
    const auto colon = s.find(':');
    if (colon == std::string::npos) throw UsageError("--steps expects A:B, got '" + s + "'");
    auto num = [&](const std::string& part, int dflt) {
        if (part.empty()) return dflt;
        const int v = parseInt("steps", part);
        return v < 0 ? total + v : v;
    };
    const int a = num(s.substr(0, colon), 0), b = std::min(num(s.substr(colon + 1), total), total);
    if (a < 0 || a >= b)
        throw UsageError("--steps " + s + " selects no step of the " + std::to_string(total) +
                         " in the episode");
    return {a, b};
}

vision::PreprocessOptions preprocessFor(const Args& args, bool episode) {
    vision::PreprocessOptions pre =
        episode ? vision::PreprocessOptions::libero() : vision::PreprocessOptions::plainImage();
    if (args.has("libero-preprocess")) pre = vision::PreprocessOptions::libero();
    if (args.has("no-libero-preprocess")) pre = vision::PreprocessOptions::plainImage();
    if (args.has("flip")) pre.flip180 = true;
    if (args.has("jpeg")) pre.jpegRoundTrip = true;
    if (args.has("center-crop")) {
        pre.centerCrop = true;
        if (pre.resizeTo <= 0) pre.resizeTo = 224;
    }
    return pre;
}

Inputs readEpisode(const Args& args, const std::string& path) {
    Inputs in;
    in.isEpisode = true;
    in.preprocess = preprocessFor(args, true);
    const data::LiberoFile file = data::LiberoFile::open(path);
    const int demo = args.value("demo-index") ? parseInt("demo-index", *args.value("demo-index")) : 0;
    if (demo < 0 || demo >= file.numDemos())
        throw Error(file.path() + ": demo index " + std::to_string(demo) + " out of range (the file has " +
                    std::to_string(file.numDemos()) + " demos)");
    const int total = file.numSteps(demo);
    const auto [a, b] =
        args.value("steps") ? parseSteps(*args.value("steps"), total) : std::make_pair(0, total);
    const data::Episode ep = file.readDemo(demo, a, b - 1);
    in.instruction = args.value("instruction").value_or(ep.instruction);
    if (in.instruction.empty())
        throw Error(file.path() + ": no instruction in the file or its name; give --instruction");
    in.firstStep = a;
    in.description =
        file.path() + " " + ep.demoName + " steps " + std::to_string(a) + ":" + std::to_string(b);
    for (int t = 0; t < ep.numSteps; ++t) {
        in.frames.push_back(vision::prepareImage(
            vision::fromBuffer(ep.imageWidth, ep.imageHeight, ep.image(t)), in.preprocess));
        in.recorded.push_back(ep.actions[t]);
    }
    return in;
}

} // namespace

std::vector<Inputs> readInputs(const Args& args, const std::vector<std::string>& extraEpisodes) {
    std::vector<std::string> episodes = extraEpisodes;
    if (auto e = args.value("episode")) episodes.insert(episodes.begin(), *e);
    const bool haveImage = args.has("image");
    if (haveImage == !episodes.empty()) throw UsageError("give exactly one of --image and --episode");
    std::vector<Inputs> out;
    if (haveImage) {
        if (!args.has("instruction")) throw UsageError("--image needs --instruction");
        Inputs in;
        in.preprocess = preprocessFor(args, false);
        in.instruction = *args.value("instruction");
        in.description = *args.value("image");
        in.frames.push_back(vision::prepareImage(vision::loadImage(*args.value("image")), in.preprocess));
        out.push_back(std::move(in));
    }
    for (const auto& e : episodes)
        out.push_back(readEpisode(args, e));
    return out;
}

} // namespace specvla::cli
