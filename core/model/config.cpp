// SPDX-License-Identifier: MIT
#include "model/config.h"

#include "common/error.h"
#include "common/json_file.h"

namespace specvla::model {
namespace {

const char* kDinoId = "vit_large_patch14_reg4_dinov2.lvd142m";
const char* kSiglipId = "vit_so400m_patch14_siglip_224";

// Reads an optional positive integer field; absent keeps the default.
void readInt(const nlohmann::json& j, const char* key, int& out, const std::string& where, int minValue = 1) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<long long>() < minValue)
        throw Error(where + "." + key + ": expected an integer >= " + std::to_string(minValue) + ", got " +
                    it->dump());
    out = it->get<int>();
}

void readDouble(const nlohmann::json& j, const char* key, double& out, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number() || it->get<double>() <= 0)
        throw Error(where + "." + key + ": expected a positive number, got " + it->dump());
    out = it->get<double>();
}

void readBool(const nlohmann::json& j, const char* key, bool& out, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_boolean()) throw Error(where + "." + key + ": expected true or false, got " + it->dump());
    out = it->get<bool>();
}

void readString(const nlohmann::json& j, const char* key, std::string& out, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_string()) throw Error(where + "." + key + ": expected a string, got " + it->dump());
    out = it->get<std::string>();
}

void readTriple(const nlohmann::json& j, const char* key, std::array<double, 3>& out,
                const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_array() || it->size() != 3)
        throw Error(where + "." + key + ": expected three numbers, got " + it->dump());
    for (int i = 0; i < 3; ++i) {
        if (!(*it)[i].is_number())
            throw Error(where + "." + key + ": expected three numbers, got " + it->dump());
        out[i] = (*it)[i].get<double>();
    }
}

VitConfig vitForTimmId(const std::string& id, const std::string& where) {
    if (id == kDinoId) return VitConfig::dinov2Large();
    if (id == kSiglipId) return VitConfig::siglipSo400m();
    throw Error(
        where + ": timm model id '" + id +
        "' has no built-in geometry; give its sizes in the specvla_vision block (docs/model-config.md)");
}

void readVit(const nlohmann::json& j, VitConfig& v, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": expected an object");
    readInt(j, "image_size", v.imageSize, where);
    readInt(j, "patch_size", v.patchSize, where);
    readInt(j, "hidden_size", v.hiddenSize, where);
    readInt(j, "num_layers", v.numLayers, where);
    readInt(j, "num_heads", v.numHeads, where);
    readInt(j, "mlp_size", v.mlpSize, where);
    readInt(j, "num_registers", v.numRegisters, where, 0);
    readBool(j, "class_token", v.classToken, where);
    readBool(j, "layer_scale", v.layerScale, where);
    readInt(j, "feature_layer", v.featureLayer, where, 0);
    if (j.contains("num_layers") && !j.contains("feature_layer")) v.featureLayer = v.numLayers - 2;
    readString(j, "act", v.act, where);
    readDouble(j, "layer_norm_eps", v.layerNormEps, where);
    readTriple(j, "mean", v.mean, where);
    readTriple(j, "std", v.std, where);
}

void checkVit(const VitConfig& v, const std::string& where) {
    if (v.imageSize % v.patchSize != 0)
        throw Error(where + ": image_size " + std::to_string(v.imageSize) +
                    " is not a multiple of patch_size " + std::to_string(v.patchSize));
    if (v.hiddenSize % v.numHeads != 0)
        throw Error(where + ": hidden_size " + std::to_string(v.hiddenSize) +
                    " is not divisible by num_heads " + std::to_string(v.numHeads));
    if (v.featureLayer < 0 || v.featureLayer >= v.numLayers)
        throw Error(where + ": feature_layer " + std::to_string(v.featureLayer) + " is outside 0.." +
                    std::to_string(v.numLayers - 1));
    if (v.act != "gelu" && v.act != "gelu_tanh")
        throw Error(where + ": act '" + v.act + "' is not supported (gelu, gelu_tanh)");
}

nlohmann::json vitToJson(const VitConfig& v) {
    return {{"image_size", v.imageSize},
            {"patch_size", v.patchSize},
            {"hidden_size", v.hiddenSize},
            {"num_layers", v.numLayers},
            {"num_heads", v.numHeads},
            {"mlp_size", v.mlpSize},
            {"num_registers", v.numRegisters},
            {"class_token", v.classToken},
            {"layer_scale", v.layerScale},
            {"feature_layer", v.featureLayer},
            {"act", v.act},
            {"layer_norm_eps", v.layerNormEps},
            {"mean", v.mean},
            {"std", v.std}};
}

} // namespace

VitConfig VitConfig::dinov2Large() {
    return VitConfig{};
}

VitConfig VitConfig::siglipSo400m() {
    VitConfig v;
    v.hiddenSize = 1152;
    v.numLayers = 27;
    v.numHeads = 16;
    v.mlpSize = 4304;
    v.numRegisters = 0;
    v.classToken = false;
    v.layerScale = false;
    v.featureLayer = 25;
    v.mean = {0.5, 0.5, 0.5};
    v.std = {0.5, 0.5, 0.5};
    return v;
}

nlohmann::json LlamaConfig::toJson() const {
    return {{"model_type", "llama"},
            {"vocab_size", vocabSize},
            {"hidden_size", hiddenSize},
            {"intermediate_size", intermediateSize},
            {"num_hidden_layers", numLayers},
            {"num_attention_heads", numHeads},
            {"num_key_value_heads", numKvHeads},
            {"rms_norm_eps", rmsNormEps},
            {"rope_theta", ropeTheta},
            {"max_position_embeddings", maxPositions}};
}

LlamaConfig LlamaConfig::fromJson(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": expected an object");
    LlamaConfig c;
    readInt(j, "vocab_size", c.vocabSize, where);
    readInt(j, "hidden_size", c.hiddenSize, where);
    readInt(j, "intermediate_size", c.intermediateSize, where);
    readInt(j, "num_hidden_layers", c.numLayers, where);
    readInt(j, "num_attention_heads", c.numHeads, where);
    c.numKvHeads = c.numHeads; // LlamaConfig: absent num_key_value_heads means full heads
    readInt(j, "num_key_value_heads", c.numKvHeads, where);
    readDouble(j, "rms_norm_eps", c.rmsNormEps, where);
    readDouble(j, "rope_theta", c.ropeTheta, where);
    readInt(j, "max_position_embeddings", c.maxPositions, where);
    if (auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null())
        throw Error(where + ".rope_scaling: RoPE scaling is not supported (OpenVLA does not use it)");
    if (c.hiddenSize % c.numHeads != 0)
        throw Error(where + ": hidden_size " + std::to_string(c.hiddenSize) +
                    " is not divisible by num_attention_heads " + std::to_string(c.numHeads));
    if (c.numHeads % c.numKvHeads != 0)
        throw Error(where + ": num_attention_heads " + std::to_string(c.numHeads) +
                    " is not a multiple of num_key_value_heads " + std::to_string(c.numKvHeads));
    if (c.headDim() % 2 != 0) throw Error(where + ": head dimension must be even for RoPE");
    return c;
}

VlaConfig VlaConfig::openvla7b() {
    return VlaConfig{};
}

nlohmann::json VlaConfig::toJson() const {
    nlohmann::json j = {{"model_type", modelType},
                        {"architectures", {"OpenVLAForActionPrediction"}},
                        {"vision_backbone_id", visionBackboneId},
                        {"llm_backbone_id", llmBackboneId},
                        {"arch_specifier", "no-align+fused-gelu-mlp"},
                        {"use_fused_vision_backbone", useFusedVisionBackbone},
                        {"image_resize_strategy", "resize-naive"},
                        {"timm_model_ids", timmModelIds},
                        {"timm_override_act_layers", {nullptr, nullptr}},
                        {"image_sizes", {featurizer.imageSize, fusedFeaturizer.imageSize}},
                        {"hf_llm_id", "meta-llama/Llama-2-7b-hf"},
                        {"llm_max_length", text.maxPositions},
                        {"pad_token_id", padTokenId},
                        {"pad_to_multiple_of", padToMultipleOf},
                        {"n_action_bins", nActionBins},
                        {"output_projector_states", false},
                        {"torch_dtype", "bfloat16"},
                        {"text_config", text.toJson()},
                        {"norm_stats", normStats}};
    j["text_config"]["pad_token_id"] = padTokenId;
    nlohmann::json vision = {{"featurizer", vitToJson(featurizer)}};
    if (useFusedVisionBackbone) vision["fused_featurizer"] = vitToJson(fusedFeaturizer);
    j["specvla_vision"] = vision;
    return j;
}

VlaConfig VlaConfig::fromJson(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": expected a JSON object");
    VlaConfig c;
    c.source = source;
    const std::string where = source + ": config";
    readString(j, "model_type", c.modelType, where);
    if (c.modelType != "openvla" && c.modelType != "prismatic")
        throw Error(source + ": model_type '" + c.modelType +
                    "' is not an OpenVLA model (openvla, prismatic)");
    readString(j, "vision_backbone_id", c.visionBackboneId, where);
    readString(j, "llm_backbone_id", c.llmBackboneId, where);
    readBool(j, "use_fused_vision_backbone", c.useFusedVisionBackbone, where);
    if (auto ids = j.find("timm_model_ids"); ids != j.end()) {
        if (!ids->is_array() || ids->empty() || !(*ids)[0].is_string())
            throw Error(where + ".timm_model_ids: expected a list of timm model ids");
        c.timmModelIds = ids->get<std::vector<std::string>>();
    }
    if (c.useFusedVisionBackbone && c.timmModelIds.size() != 2)
        throw Error(where + ".timm_model_ids: a fused vision backbone needs two ids, got " +
                    std::to_string(c.timmModelIds.size()));

    const auto vision = j.find("specvla_vision");
    const bool explicitVision = vision != j.end() && !vision->is_null();
    if (explicitVision && !vision->is_object()) throw Error(where + ".specvla_vision: expected an object");
    // Geometry: the explicit block when present, else the built-in sizes of the timm ids.
    auto featurizer = [&](const char* key, std::size_t idIndex) {
        VitConfig v;
        const bool given = explicitVision && vision->contains(key);
        if (!given) v = vitForTimmId(c.timmModelIds.at(idIndex), where + ".timm_model_ids");
        if (given) readVit((*vision)[key], v, where + ".specvla_vision." + key);
        return v;
    };
    c.featurizer = featurizer("featurizer", 0);
    if (c.useFusedVisionBackbone) c.fusedFeaturizer = featurizer("fused_featurizer", 1);
    if (auto sizes = j.find("image_sizes"); sizes != j.end() && sizes->is_array()) {
        for (std::size_t i = 0; i < sizes->size() && i < 2; ++i) {
            if (!(*sizes)[i].is_number_integer()) throw Error(where + ".image_sizes: expected integers");
            (i == 0 ? c.featurizer : c.fusedFeaturizer).imageSize = (*sizes)[i].get<int>();
        }
    }
    checkVit(c.featurizer, where + " featurizer");
    if (c.useFusedVisionBackbone) {
        checkVit(c.fusedFeaturizer, where + " fused_featurizer");
        if (c.fusedFeaturizer.numPatches() != c.featurizer.numPatches())
            throw Error(where + ": the two vision backbones give " +
                        std::to_string(c.featurizer.numPatches()) + " and " +
                        std::to_string(c.fusedFeaturizer.numPatches()) + " patches; they must agree");
    }

    if (auto tc = j.find("text_config"); tc != j.end() && !tc->is_null())
        c.text = LlamaConfig::fromJson(*tc, where + ".text_config");
    readInt(j, "pad_token_id", c.padTokenId, where, 0);
    readInt(j, "pad_to_multiple_of", c.padToMultipleOf, where, 0);
    readInt(j, "n_action_bins", c.nActionBins, where, 2);
    if (auto ns = j.find("norm_stats"); ns != j.end() && !ns->is_null()) {
        if (!ns->is_object()) throw Error(where + ".norm_stats: expected an object keyed by dataset");
        c.normStats = *ns;
    }
    if (c.actionVocabBase() < c.nActionBins)
        throw Error(where + ": vocab_size " + std::to_string(c.text.vocabSize) +
                    " minus pad_to_multiple_of " + std::to_string(c.padToMultipleOf) +
                    " leaves no room for " + std::to_string(c.nActionBins) + " action tokens");
    return c;
}

VlaConfig VlaConfig::fromFile(const std::string& path) {
    return fromJson(readJsonFile(path), path);
}

LlamaConfig DraftConfig::asLlama(int vocabSize) const {
    LlamaConfig l;
    l.vocabSize = vocabSize;
    l.hiddenSize = hiddenSize;
    l.intermediateSize = intermediateSize;
    l.numLayers = numLayers;
    l.numHeads = numHeads;
    l.numKvHeads = numKvHeads;
    l.rmsNormEps = rmsNormEps;
    l.ropeTheta = ropeTheta;
    return l;
}

DraftConfig DraftConfig::forTarget(const LlamaConfig& target) {
    DraftConfig d;
    d.hiddenSize = target.hiddenSize;
    d.intermediateSize = target.intermediateSize;
    d.numHeads = target.numHeads;
    d.numKvHeads = target.numKvHeads;
    d.numLayers = 1;
    d.rmsNormEps = target.rmsNormEps;
    d.ropeTheta = target.ropeTheta;
    return d;
}

nlohmann::json DraftConfig::toJson() const {
    return {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"hidden_size", hiddenSize},
            {"intermediate_size", intermediateSize},
            {"num_attention_heads", numHeads},
            {"num_key_value_heads", numKvHeads},
            {"num_hidden_layers", numLayers},
            {"rms_norm_eps", rmsNormEps},
            {"rope_theta", ropeTheta},
            {"qkv_bias", qkvBias},
            {"hidden_act", "silu"}};
}

DraftConfig DraftConfig::fromJson(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": expected a JSON object");
    const std::string where = source + ": config";
    DraftConfig d;
    readInt(j, "hidden_size", d.hiddenSize, where);
    readInt(j, "intermediate_size", d.intermediateSize, where);
    readInt(j, "num_attention_heads", d.numHeads, where);
    d.numKvHeads = d.numHeads;
    readInt(j, "num_key_value_heads", d.numKvHeads, where);
    readInt(j, "num_hidden_layers", d.numLayers, where);
    readDouble(j, "rms_norm_eps", d.rmsNormEps, where);
    readDouble(j, "rope_theta", d.ropeTheta, where);
    readBool(j, "qkv_bias", d.qkvBias, where);
    if (d.hiddenSize % d.numHeads != 0 || d.numHeads % d.numKvHeads != 0)
        throw Error(where + ": hidden_size, num_attention_heads and num_key_value_heads do not divide");
    return d;
}

DraftConfig DraftConfig::fromFile(const std::string& path) {
    return fromJson(readJsonFile(path), path);
}

} // namespace specvla::model
