// SPDX-License-Identifier: MIT
#include "model/geometry.h"

#include "io/safetensors_writer.h"
#include "model/tensor_specs.h"
#include "text/tokenizer_training.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace specvla::model {

std::uint64_t writeGeometryCheckpoint(const std::string& dir, const VlaConfig& config, io::DType dtype,
                                      std::uint64_t maxShardBytes, bool withTokenizer) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    w.setMetadata("format", "pt");
    for (const auto& s : vlaTensorSpecs(config))
        w.addSparse(s.name, dtype, s.shape);
    w.writeSharded(dir, maxShardBytes);

    VlaConfig c = config;
    c.normStats = {
        {"geometry",
         {{"action", {{"q01", std::vector<double>(7, -1.0)}, {"q99", std::vector<double>(7, 1.0)}}}}}};
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), c.toJson().dump(2) + "\n");
    const std::vector<std::string> instructions = {"put the bowl on the plate", "open the top drawer",
                                                   "push the plate to the front of the stove",
                                                   "put the cream cheese in the bowl", "turn on the stove"};
    if (!withTokenizer) return w.dataBytes();
    const std::string prefix = (fs::path(dir) / "tokenizer").string();
    text::trainInstructionTokenizer(prefix, instructions, 400);
    return w.dataBytes();
}

std::uint64_t writeDraftGeometry(const std::string& dir, const DraftConfig& config, int vocabSize,
                                 io::DType dtype) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    for (const auto& s : draftTensorSpecs(config, vocabSize, /*withEmbedding=*/false))
        w.addSparse(s.name, dtype, s.shape);
    w.writeFile((fs::path(dir) / "model.safetensors").string());
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), config.toJson().dump(2) + "\n");
    return w.dataBytes();
}

} // namespace specvla::model
