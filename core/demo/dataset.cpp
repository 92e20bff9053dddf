// SPDX-License-Identifier: MIT
#include "demo/dataset.h"

#include "common/error.h"
#include "demo/expert.h"
#include "text/tokenizer_training.h"
#include "vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace specvla::demo {

namespace {

vision::RgbImage frameOf(const data::Episode& e, int t) {
    vision::RgbImage img = vision::RgbImage::blank(e.imageWidth, e.imageHeight);
    const std::uint8_t* p = e.image(t);
    if (!p) throw Error("demo trainer: episode step out of range");
    std::copy(p, p + e.imageBytes(), img.pixels.begin());
    return img;
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

} // namespace

std::vector<std::string> instructionFamily(int seeds) {
    std::set<std::string> all;
    for (TaskKind kind : allTaskKinds())
        for (int s = 0; s < seeds; ++s)
            all.insert(instruction(sampleLayout(kind, static_cast<std::uint64_t>(s))));
    return {all.begin(), all.end()};
}

std::vector<std::string> tokenizerCorpus() {
    std::vector<std::string> lines = instructionFamily();
    // Household-robot language beyond the task family, so the tokenizer has a Llama-like spread of word
    // pieces and the 256 action tokens (the last ids) are the rarest pieces, as in OpenVLA, instead of the
    // pieces the instructions use.
    static const char* const kVerbs[] = {
        "pick up", "put",     "place",  "move",      "push",   "pull",    "slide",    "lift",    "lower",
        "rotate",  "turn",    "open",   "close",     "grasp",  "release", "stack",    "unstack", "wipe",
        "pour",    "fold",    "unfold", "insert",    "remove", "hang",    "flip",     "drop",    "carry",
        "arrange", "sort",    "gather", "hand over", "press",  "twist",   "shake",    "scoop",   "sweep",
        "cover",   "uncover", "tilt",   "align",     "nudge",  "swap",    "retrieve", "deliver", "stir"};
    static const char* const kObjects[] = {"mug",
                                           "cup",
                                           "spoon",
                                           "fork",
                                           "knife",
                                           "ketchup bottle",
                                           "butter",
                                           "cream cheese",
                                           "milk carton",
                                           "orange juice",
                                           "tomato sauce",
                                           "alphabet soup",
                                           "salad dressing",
                                           "chocolate pudding",
                                           "basket",
                                           "tray",
                                           "drawer",
                                           "cabinet",
                                           "microwave",
                                           "stove",
                                           "kettle",
                                           "frying pan",
                                           "wine bottle",
                                           "book",
                                           "caddy",
                                           "towel",
                                           "sponge",
                                           "marker",
                                           "eraser",
                                           "stapler",
                                           "scissors",
                                           "banana",
                                           "apple",
                                           "lemon",
                                           "carrot",
                                           "eggplant",
                                           "corn",
                                           "pepper",
                                           "potato",
                                           "sandwich",
                                           "cookie box",
                                           "cereal box",
                                           "can",
                                           "jar",
                                           "lid",
                                           "pot",
                                           "cloth",
                                           "napkin",
                                           "remote control",
                                           "phone",
                                           "headphones",
                                           "toy car",
                                           "rubber duck",
                                           "tennis ball",
                                           "screwdriver",
                                           "hammer",
                                           "wrench",
                                           "tape",
                                           "glue stick",
                                           "pencil case"};
    static const char* const kPlaces[] = {"on the shelf",
                                          "into the drawer",
                                          "next to the sink",
                                          "on top of the cabinet",
                                          "inside the basket",
                                          "behind the mug",
                                          "in front of the stove",
                                          "to the left of the tray",
                                          "to the right of the book",
                                          "onto the plate",
                                          "into the pot",
                                          "under the table",
                                          "near the window",
                                          "beside the microwave",
                                          "on the counter",
                                          "in the corner",
                                          "at the edge of the table",
                                          "between the two cups",
                                          "on the top rack",
                                          "on the bottom rack",
                                          "in the sink",
                                          "onto the cutting board",
                                          "into the box"};
    static const char* const kAdjectives[] = {
        "small",  "large",  "white",       "black", "wooden", "metal",  "plastic", "ceramic",
        "empty",  "full",   "striped",     "shiny", "round",  "square", "tall",    "short",
        "dirty",  "clean",  "soft",        "heavy", "light",  "brown",  "pink",    "grey",
        "silver", "golden", "transparent", "dark",  "bright", "old",    "new"};
    static const char* const kTails[] = {"carefully",
                                         "slowly",
                                         "quickly",
                                         "and then stop",
                                         "without touching anything else",
                                         "while keeping it upright",
                                         "using the left gripper",
                                         "before the timer ends",
                                         "gently",
                                         "and return to the start",
                                         "so that it does not fall",
                                         "until it clicks",
                                         "as far as possible"};
    Rng rng(20240611);
    auto pick = [&](const auto& list) {
        return std::string(list[rng.below(static_cast<int>(std::size(list)))]);
    };
    for (int i = 0; i < 3000; ++i) {
        std::string line =
            pick(kVerbs) + " the " + pick(kAdjectives) + " " + pick(kObjects) + " " + pick(kPlaces);
        if (rng.uniform() < 0.4) line += " " + pick(kTails);
        lines.push_back(std::move(line));
    }
    return lines;
}

std::string trainDemoTokenizer(const std::string& modelPrefix, int vocabSize) {
    return text::trainInstructionTokenizer(modelPrefix, tokenizerCorpus(), vocabSize);
}

InstructionThings instructionThings(const std::string& instruction) {
    InstructionThings t;
    std::istringstream words(instruction);
    std::string word;
    while (words >> word) {
        const auto& colors = colorNames();
        const auto c = std::find(colors.begin(), colors.end(), word);
        if (c != colors.end()) {
            const int index = static_cast<int>(c - colors.begin());
            (t.block < 0 ? t.block : t.referenceBlock) = index;
        } else if (word == receptacleName(ReceptacleKind::Plate)) {
            t.receptacle = 0;
        } else if (word == receptacleName(ReceptacleKind::Bowl)) {
            t.receptacle = 1;
        }
    }
    if (t.block < 0) throw Error("demo: the instruction '" + instruction + "' names no block colour");
    return t;
}

WorldState stateFromFeatures(const WorldState& truth, const float* f) {
    WorldState w = truth;
    if (w.target < 0 || w.target >= static_cast<int>(w.blocks.size()))
        throw Error("demo: task names no block");
    Gripper& g = w.gripper;
    g.x = 0.3 * f[0];
    g.y = 0.3 * f[1];
    g.z = std::clamp(0.15 + 0.15 * f[2], 0.0, kGripperMaxZ);
    g.opening = std::clamp((f[3] + 1) / 2.0, 0.0, 1.0);
    Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    b.x = 0.3 * f[5];
    b.y = 0.3 * f[6];
    b.z = std::max(0.0, 0.15 + 0.15 * f[7]);
    if (f[4] > 0) {
        if (truth.held != truth.target) w.heldDz = 0;
        w.held = w.target;
    } else if (truth.held == truth.target) {
        w.held = -1;
    }
    const double gx = 0.3 * f[8], gy = 0.3 * f[9];
    switch (w.task) {
    case TaskKind::PutIn:
    case TaskKind::MoveToFront: {
        if (w.receptacle < 0 || w.receptacle >= static_cast<int>(w.receptacles.size()))
            throw Error("demo: task names no receptacle");
        Receptacle& r = w.receptacles[static_cast<std::size_t>(w.receptacle)];
        r.x = gx;
        r.y = w.task == TaskKind::PutIn ? gy : gy + r.radius + 0.05;
        break;
    }
    case TaskKind::PlaceBeside:
    case TaskKind::Stack: {
        if (w.reference < 0 || w.reference >= static_cast<int>(w.blocks.size()))
            throw Error("demo: task names no reference block");
        Block& ref = w.blocks[static_cast<std::size_t>(w.reference)];
        ref.x = w.task == TaskKind::Stack ? gx : gx - w.side * 0.1;
        ref.y = gy;
        break;
    }
    case TaskKind::PickUp:
        break;
    }
    return w;
}

StateFeatures stateFeatures(const WorldState& w) {
    constexpr double kPi = 3.14159265358979323846;
    if (w.target < 0 || w.target >= static_cast<int>(w.blocks.size()))
        throw Error("demo: task names no block");
    const Gripper& g = w.gripper;
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    const auto [gx, gy] = taskGoal(w); // the goal in the table plane
    // The gripper's yaw off square with the table, modulo a quarter turn (its fingers look the same four
    // ways), in [-pi/4, pi/4]: what the funnel expert turns away while it picks and places.
    const double q = kPi / 2;
    double d = std::fmod(-g.yaw, q);
    if (d > q / 2) d -= q;
    if (d < -q / 2) d += q;
    const double reach = std::hypot(b.x - g.x, b.y - g.y);
    StateFeatures f{static_cast<float>(g.x / 0.3),
                    static_cast<float>(g.y / 0.3),
                    static_cast<float>((g.z - 0.15) / 0.15),
                    static_cast<float>(2 * g.opening - 1),
                    w.held == w.target ? 1.0f : -1.0f,
                    static_cast<float>(b.x / 0.3),
                    static_cast<float>(b.y / 0.3),
                    static_cast<float>((b.z - 0.15) / 0.15),
                    static_cast<float>(gx / 0.3),
                    static_cast<float>(gy / 0.3),
                    static_cast<float>(d / (q / 2)),
                    static_cast<float>(std::min(reach / 0.15, 3.0) - 1)};
    // The scene, whatever the instruction names.
    float* scene = f.data() + kSceneFeatureOffset;
    scene[0] = static_cast<float>(g.x / 0.3);
    scene[1] = static_cast<float>(g.y / 0.3);
    scene[2] = static_cast<float>((g.z - 0.15) / 0.15);
    scene[3] = static_cast<float>(2 * g.opening - 1);
    scene[4] = static_cast<float>(std::cos(4 * g.yaw));
    scene[5] = static_cast<float>(std::sin(4 * g.yaw));
    constexpr int kColors = 6;
    if (static_cast<int>(colorNames().size()) != kColors)
        throw Error("demo: scene features expect 6 colours");
    for (int c = 0; c < kColors; ++c) {
        float* slot = scene + 6 + 4 * c;
        slot[0] = -1;
        for (const Block& x : w.blocks)
            if (x.color == c) {
                slot[0] = 1;
                slot[1] = static_cast<float>(x.x / 0.3);
                slot[2] = static_cast<float>(x.y / 0.3);
                slot[3] = static_cast<float>((x.z - 0.15) / 0.15);
                break;
            }
    }
    for (int k = 0; k < 2; ++k) {
        float* slot = scene + 6 + 4 * kColors + 3 * k;
        slot[0] = -1;
        const ReceptacleKind kind = k == 0 ? ReceptacleKind::Plate : ReceptacleKind::Bowl;
        for (const Receptacle& r : w.receptacles)
            if (r.kind == kind) {
                slot[0] = 1;
                slot[1] = static_cast<float>(r.x / 0.3);
                slot[2] = static_cast<float>(r.y / 0.3);
                break;
            }
    }
    return f;
}

std::vector<data::Episode> expertEpisodes(int count, std::uint64_t firstSeed, int imageSize,
                                          const ExpertOptions& options,
                                          std::vector<std::vector<StateFeatures>>* states) {
    std::vector<data::Episode> out;
    if (states) states->clear();
    constexpr std::uint64_t kRetryStride = 7919; // a different layout for each retry
    for (int e = 0; e < count; ++e) {
        const TaskKind kind = allTaskKinds()[static_cast<std::size_t>(e % kNumTaskKinds)];
        for (std::uint64_t retry = 0;; ++retry) {
            std::vector<WorldState> seen;
            data::Episode ep = rollout(kind, firstSeed + static_cast<std::uint64_t>(e) + retry * kRetryStride,
                                       imageSize, options, kMaxEpisodeSteps, states ? &seen : nullptr);
            if (ep.success() || retry >= 20) {
                out.push_back(std::move(ep));
                if (states) {
                    std::vector<StateFeatures> f;
                    f.reserve(seen.size());
                    for (const WorldState& w : seen)
                        f.push_back(stateFeatures(w));
                    states->push_back(std::move(f));
                }
                break;
            }
        }
    }
    return out;
}

vision::RgbImage storedFrame(const vision::RgbImage& rendered) {
    return vision::rotate180(rendered);
}

vision::RgbImage policyInput(const vision::RgbImage& rendered) {
    return vision::prepareImage(storedFrame(rendered), vision::PreprocessOptions::libero());
}

std::array<double, 2> policyInputPosition(const std::array<double, 2>& p) {
    const vision::PreprocessOptions o = vision::PreprocessOptions::libero();
    if (!o.centerCrop) return p;
    const double side = std::sqrt(o.cropArea), offset = (1 - side) / 2;
    return {(p[0] - offset) / side, (p[1] - offset) / side};
}

data::Episode storedEpisode(data::Episode ep) {
    const std::size_t bytes = ep.imageBytes();
    for (int t = 0; t < ep.numSteps; ++t) {
        const vision::RgbImage r = storedFrame(frameOf(ep, t));
        std::copy(r.pixels.begin(), r.pixels.end(),
                  ep.images.begin() + static_cast<std::ptrdiff_t>(t * bytes));
    }
    return ep;
}

double toOpenVlaGripper(double g) {
    return 1.0 - std::clamp(g, 0.0, 1.0);
}

data::Action toOpenVlaAction(const data::Action& a) {
    data::Action out = a;
    out[6] = toOpenVlaGripper(a[6]);
    return out;
}

data::Action simulatorAction(std::vector<double> decoded) {
    decode::liberoGripperPostprocess(decoded);
    data::Action out{};
    for (std::size_t d = 0; d < out.size() && d < decoded.size(); ++d)
        out[d] = decoded[d];
    return out;
}

nlohmann::json actionStatistics(const std::vector<data::Action>& actions) {
    if (actions.empty()) throw Error("demo trainer: no actions to take statistics of");
    nlohmann::json j;
    std::vector<double> mean, stdv, mx, mn, q01, q99;
    const double n = static_cast<double>(actions.size());
    for (int d = 0; d < 7; ++d) {
        std::vector<double> v;
        for (const auto& a : actions)
            v.push_back(a[static_cast<std::size_t>(d)]);
        double m = 0;
        for (double x : v)
            m += x;
        m /= n;
        double var = 0;
        for (double x : v)
            var += (x - m) * (x - m);
        mean.push_back(m);
        stdv.push_back(std::sqrt(var / n));
        mx.push_back(*std::max_element(v.begin(), v.end()));
        mn.push_back(*std::min_element(v.begin(), v.end()));
        q01.push_back(quantile(v, 0.01));
        q99.push_back(quantile(v, 0.99));
    }
    j["mean"] = mean;
    j["std"] = stdv;
    j["max"] = mx;
    j["min"] = mn;
    j["q01"] = q01;
    j["q99"] = q99;
    j["mask"] = std::vector<bool>{true, true, true, true, true, true, false};
    return j;
}

decode::NormStats normStatsFromStatistics(const nlohmann::json& actionStats, const std::string& key) {
    nlohmann::json all = {{key, {{"action", actionStats}}}};
    return decode::NormStats::fromJson(all, key, "demo trainer statistics");
}

std::array<int, 7> actionTokenIds(const data::Action& a, const decode::NormStats& stats,
                                  const decode::ActionTokenizer& tokenizer) {
    const std::vector<double> n = decode::normalize(std::vector<double>(a.begin(), a.end()), stats);
    std::array<int, 7> out{};
    for (std::size_t d = 0; d < 7; ++d)
        out[d] = tokenizer.encode(n[d]);
    return out;
}

DemoDataset buildDataset(std::vector<data::Episode> episodes, const decode::ActionTokenizer& tokenizer,
                         const std::vector<std::vector<StateFeatures>>& states, int frameStride,
                         int keyframeEvery) {
    if (!states.empty()) {
        if (states.size() != episodes.size())
            throw Error("demo trainer: " + std::to_string(states.size()) + " state lists for " +
                        std::to_string(episodes.size()) + " episodes");
        for (std::size_t e = 0; e < episodes.size(); ++e)
            if (static_cast<int>(states[e].size()) != episodes[e].numSteps)
                throw Error("demo trainer: episode " + std::to_string(e) + " has " +
                            std::to_string(episodes[e].numSteps) + " steps but " +
                            std::to_string(states[e].size()) + " states");
    }
    DemoDataset data;
    data.episodes = std::move(episodes);
    std::vector<data::Action> all;
    for (const auto& e : data.episodes)
        for (const auto& a : e.actions)
            all.push_back(toOpenVlaAction(a));
    data.actionStats = actionStatistics(all);
    data.stats = normStatsFromStatistics(data.actionStats, kDemoStatsKey);
    if (frameStride < 1) throw Error("demo trainer: the frame stride must be at least 1");
    if (keyframeEvery < 0) throw Error("demo trainer: the key frame interval must not be negative");
    for (std::size_t e = 0; e < data.episodes.size(); ++e) {
        // Key frames: both sides of each change of the gripper label.
        const auto& actions = data.episodes[e].actions;
        const auto steps = static_cast<std::size_t>(data.episodes[e].numSteps);
        std::vector<char> key(steps, 0);
        if (keyframeEvery > 0 && e % static_cast<std::size_t>(keyframeEvery) == 0)
            for (std::size_t t = 0; t + 1 < steps; ++t)
                if ((actions[t][6] > 0) != (actions[t + 1][6] > 0)) key[t] = key[t + 1] = 1;
        for (int t = 0; t < data.episodes[e].numSteps; ++t) {
            const bool onStride =
                (t + static_cast<int>(e % static_cast<std::size_t>(frameStride))) % frameStride == 0;
            const bool isKey = key[static_cast<std::size_t>(t)] != 0;
            if (!onStride && !isKey) continue;
            if (!onStride) ++data.keyframeSamples;
            data.inputs.push_back(policyInput(frameOf(data.episodes[e], t)));
            if (!states.empty()) data.states.push_back(states[e][static_cast<std::size_t>(t)]);
            data.samples.push_back(
                {static_cast<int>(e), t,
                 actionTokenIds(toOpenVlaAction(data.episodes[e].actions[static_cast<std::size_t>(t)]),
                                data.stats, tokenizer)});
        }
    }
    return data;
}

} // namespace specvla::demo
