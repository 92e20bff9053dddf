// SPDX-License-Identifier: MIT
#include "support/tiny_model.h"

#include "data/libero_writer.h"
#include "io/safetensors_writer.h"
#include "io/tensor_view.h"
#include "model/draft_head.h"
#include "model/tensor_specs.h"
#include "model/weights.h"
#include "text/tokenizer.h"
#include "text/tokenizer_training.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <mutex>

namespace fs = std::filesystem;

namespace specvla::testing {

std::vector<std::string> tinyInstructions() {
    const char* verbs[] = {"put", "push", "pick up", "move", "place", "open", "close", "turn on"};
    const char* colors[] = {"red", "blue", "green", "yellow", "black", "white"};
    const char* objects[] = {"block", "cube", "bowl", "plate", "mug", "drawer", "stove", "basket"};
    const char* places[] = {"on the plate",  "in the bowl", "to the left", "to the front of the plate",
                            "in the basket", "on the stove"};
    std::vector<std::string> out;
    for (const char* v : verbs)
        for (const char* c : colors)
            for (const char* o : objects)
                for (const char* p : places)
                    out.push_back(std::string(v) + " the " + c + " " + o + " " + p);
    return out;
}

model::VlaConfig tinyVlaConfig(int tokenizerVocab, int numKvHeads) {
    model::VlaConfig c;
    c.timmModelIds = {"tiny_dino", "tiny_siglip"};
    c.featurizer.imageSize = 28;
    c.featurizer.patchSize = 14;
    c.featurizer.hiddenSize = 32;
    c.featurizer.numLayers = 3;
    c.featurizer.numHeads = 2;
    c.featurizer.mlpSize = 64;
    c.featurizer.numRegisters = 2;
    c.featurizer.featureLayer = 1; // block 2 and the final norm stay unused, as blocks.23 in the 7B model
    c.fusedFeaturizer = model::VitConfig::siglipSo400m();
    c.fusedFeaturizer.imageSize = 28;
    c.fusedFeaturizer.hiddenSize = 24;
    c.fusedFeaturizer.numLayers = 2;
    c.fusedFeaturizer.numHeads = 2;
    c.fusedFeaturizer.mlpSize = 48;
    c.fusedFeaturizer.featureLayer = 0;
    c.text.vocabSize = tokenizerVocab + 64;
    c.text.hiddenSize = 64;
    c.text.intermediateSize = 128;
    c.text.numLayers = 2;
    c.text.numHeads = 4;
    c.text.numKvHeads = numKvHeads;
    c.text.maxPositions = 256;
    c.padTokenId = tokenizerVocab;
    c.normStats = {{"tiny_dataset",
                    {{"action",
                      {{"q01", {-0.5, -0.5, -0.5, -0.1, -0.1, -0.1, 0.0}},
                       {"q99", {0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 1.0}},
                       {"mask", {true, true, true, true, true, true, false}}}}}}};
    return c;
}

model::DraftConfig tinyDraftConfig(const model::VlaConfig& target) {
    return model::DraftConfig::forTarget(target.text);
}

namespace {

std::string trainedTokenizer(int vocab) {
    static std::mutex mutex;
    static std::map<int, std::string> cache;
    static const fs::path dir =
        fs::temp_directory_path() / ("specvla-tiny-tok-" + std::to_string(::getpid()));
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(vocab); it != cache.end()) return it->second;
    fs::create_directories(dir);
    const std::string path = text::trainInstructionTokenizer((dir / ("tok" + std::to_string(vocab))).string(),
                                                             tinyInstructions(), vocab);
    cache[vocab] = path;
    return path;
}

void writeSpecs(io::SafetensorsWriter& w, const std::vector<model::TensorSpec>& specs,
                model::WeightSource& src, io::DType dtype) {
    const auto st = dtype == io::DType::BF16 ? at::kBFloat16 : at::kFloat;
    for (const auto& s : specs)
        io::addTensor(w, s.name, src.get(s.name, s.shape).to(st));
}

} // namespace

model::VlaConfig writeTinyModel(const std::string& dir, const TinyModelOptions& o) {
    fs::create_directories(dir);
    const std::string tok = trainedTokenizer(o.tokenizerVocab);
    fs::copy_file(tok, fs::path(dir) / "tokenizer.model", fs::copy_options::overwrite_existing);
    const int vocab = text::Tokenizer::load(tok).vocabSize();
    model::VlaConfig c = tinyVlaConfig(vocab, o.numKvHeads);

    io::SafetensorsWriter w;
    w.setMetadata("format", "pt");
    model::RandomWeights random(o.seed, o.std);
    writeSpecs(w, model::vlaTensorSpecs(c), random, o.dtype);
    w.writeSharded(dir, o.maxShardBytes);
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), c.toJson().dump(2));
    // Statistics as a finetuned checkpoint ships them beside config.json.
    nlohmann::json stats = {{"tiny_dataset_no_noops", c.normStats["tiny_dataset"]}};
    io::writeFileAtomically((fs::path(dir) / "dataset_statistics.json").string(), stats.dump(2));
    return c;
}

void writeTinyDraft(const std::string& dir, const model::VlaConfig& target, std::uint64_t seed, bool asBin) {
    fs::create_directories(dir);
    const model::DraftConfig d = tinyDraftConfig(target);
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), d.toJson().dump(2));
    model::RandomWeights random(seed, 0.08);
    const auto specs = model::draftTensorSpecs(d, target.text.vocabSize, /*withEmbedding=*/true);
    if (asBin) {
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (const auto& s : specs)
            tensors.emplace_back(s.name, random.get(s.name, s.shape).to(at::kHalf));
        model::writeTorchStateDict((fs::path(dir) / "pytorch_model.bin").string(), tensors);
    } else {
        io::SafetensorsWriter w;
        writeSpecs(w, specs, random, io::DType::F32);
        w.writeFile((fs::path(dir) / "model.safetensors").string());
    }
}

void writeSyntheticEpisode(const std::string& path, const std::string& instruction, int steps, int size) {
    data::Episode ep;
    ep.demoName = "demo_0";
    ep.instruction = instruction;
    ep.numSteps = steps;
    ep.imageWidth = ep.imageHeight = size;
    ep.images.resize(static_cast<std::size_t>(steps) * size * size * 3);
    const std::size_t frame = static_cast<std::size_t>(size) * size * 3;
    for (std::size_t i = 0; i < ep.images.size(); ++i) // every frame differs from the previous one
        ep.images[i] = static_cast<std::uint8_t>((i * 13 + (i / frame) * 37) % 256);
    for (int t = 0; t < steps; ++t)
        ep.actions.push_back({0.1 * t, 0, 0, 0, 0, 0, t % 2 ? 1.0 : -1.0});
    ep.rewards.assign(static_cast<std::size_t>(steps), 0);
    ep.dones.assign(static_cast<std::size_t>(steps), 0);
    ep.rewards.back() = ep.dones.back() = 1;
    data::writeLiberoFile(path, {ep}, {});
}

TinyFixtures writeTinyFixtures(const std::string& dir, int steps) {
    TinyFixtures f{dir + "/model", dir + "/draft", dir + "/episode.hdf5"};
    const model::VlaConfig config = writeTinyModel(f.model);
    writeTinyDraft(f.draft, config);
    writeSyntheticEpisode(f.episode, tinyInstructions().front(), steps);
    return f;
}

} // namespace specvla::testing
