// SPDX-License-Identifier: MIT
#pragma once

#include "decode/norm_stats.h"

#include <array>
#include <vector>

namespace specvla::decode {

constexpr int kActionDims = 7;
using Action = std::array<double, kActionDims>;

// OpenVLA's action tokenizer: 256 uniform bins over [-1, 1], 255 bin centres, and bin k (1..256 from
// numpy.digitize) carried by token id base - k, where base = text vocab size - pad_to_multiple_of (32000 for
// the real checkpoints). Action tokens are the ids [base - 256, base - 1].
class ActionTokenizer {
public:
    explicit ActionTokenizer(int baseVocab = 32000, int nBins = 256);

    int baseVocab() const { return m_base; }
    int nBins() const { return m_nBins; }
    int firstActionToken() const { return m_base - m_nBins; }
    int lastActionToken() const { return m_base - 1; }
    bool isActionToken(int id) const { return id >= firstActionToken() && id <= lastActionToken(); }

    const std::vector<double>& bins() const { return m_bins; }
    const std::vector<double>& binCenters() const { return m_centers; }

    // Bin index 0..nBins-1 of an action token (base - 1 - id), the quantity whose distance relaxed acceptance
    // compares; -1 for ids outside the action range.
    int binOfToken(int id) const;
    int tokenOfBin(int bin) const { return m_base - 1 - bin; }

    // Encoding as at training: clip to [-1, 1], digitize, id = base - k.
    int encode(double normalized) const;
    // Decoding as at inference: idx = clip(base - id - 1, 0, nBins - 2), value = bin centre idx. Non-action
    // ids clip too, exactly as OpenVLA does.
    double decode(int id) const;
    std::vector<double> decode(const std::vector<int>& ids) const;

private:
    int m_base;
    int m_nBins;
    std::vector<double> m_bins;
    std::vector<double> m_centers;
};

// BOUNDS_Q99 un-normalisation: a = mask ? 0.5 (a_n + 1)(q99 - q01) + q01 : a_n. Throws Error when the
// statistics do not have one entry per dimension.
std::vector<double> unnormalize(const std::vector<double>& normalized, const NormStats& stats);
// The inverse used to make training targets: clip(2 (x - q01) / (q99 - q01 + 1e-8) - 1, -1, 1) where masked.
std::vector<double> normalize(const std::vector<double>& action, const NormStats& stats);

// LIBERO post-processing of the gripper (last dimension): g = sign(2g - 1), then g = -g, so -1 opens and +1
// closes.
void liberoGripperPostprocess(std::vector<double>& action);

} // namespace specvla::decode
