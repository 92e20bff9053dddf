// SPDX-License-Identifier: MIT
// What the demo trainer's tests share: a tiny tokenizer, model config and expert dataset, and helpers.
#pragma once

#include "demo/expert.h"
#include "demo/trainer.h"
#include "model/vla_model.h"
#include "support/test_support.h"
#include "text/tokenizer.h"

#include <QTemporaryDir>

#include <numeric>
#include <string>
#include <vector>

namespace specvla::testing {

inline double mean(const std::vector<double>& v, std::size_t from, std::size_t count) {
    return std::accumulate(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(from + count),
                           0.0) /
           static_cast<double>(count);
}

// Options for a seconds-long target training of the tiny model that still moves its losses.
inline demo::TargetTrainOptions quickTraining(int steps) {
    demo::TargetTrainOptions o;
    o.steps = steps;
    o.batchSize = 8;
    o.warmupSteps = 5;
    o.lr = 2e-3;
    return o;
}

// The tiny geometry's tokenizer (trained in `dir`), its model config, and a dataset of three expert episodes
// (seeds 7 to 9).
struct TinyTrainerSetup {
    std::string tokenizer;
    model::VlaConfig config;
    demo::DemoDataset data;
};

inline TinyTrainerSetup tinyTrainerSetup(const QTemporaryDir& dir) {
    const auto spec = demo::DemoModelSpec::tiny();
    TinyTrainerSetup s;
    s.tokenizer = demo::trainDemoTokenizer(dir.filePath("tok").toStdString(), spec.tokenizerVocab);
    s.config = demo::demoVlaConfig(spec, text::Tokenizer::load(s.tokenizer).vocabSize());
    s.data = demo::buildDataset(demo::expertEpisodes(3, 7, spec.imageSize),
                                decode::ActionTokenizer(s.config.actionVocabBase()));
    return s;
}

// The message of the Error that training on `data` with `options` throws ("" when it trains).
inline std::string trainingError(const model::VlaConfig& config, const std::string& tokenizer,
                                 demo::DemoDataset data, const demo::TargetTrainOptions& options) {
    return errorOf([&] { demo::trainTarget(config, tokenizer, data, options); });
}

} // namespace specvla::testing
