// SPDX-License-Identifier: MIT
#include "decode/action_tokenizer.h"

#include "common/error.h"

#include <algorithm>

namespace specvla::decode {

ActionTokenizer::ActionTokenizer(int baseVocab, int nBins) : m_base(baseVocab), m_nBins(nBins) {
    if (nBins < 2 || baseVocab < nBins)
        throw Error(
            "action tokenizer: need at least 2 bins and a vocabulary of at least as many tokens (got " +
            std::to_string(nBins) + " bins, base " + std::to_string(baseVocab) + ")");
    // numpy.linspace(-1, 1, n): evenly spaced with both ends exact.
    m_bins.resize(nBins);
    const double step = 2.0 / (nBins - 1);
    for (int i = 0; i < nBins; ++i)
        m_bins[i] = -1.0 + i * step;
    m_bins.back() = 1.0;
    m_centers.resize(nBins - 1);
    for (int i = 0; i + 1 < nBins; ++i)
        m_centers[i] = (m_bins[i] + m_bins[i + 1]) / 2.0;
}

int ActionTokenizer::binOfToken(int id) const {
    return isActionToken(id) ? m_base - 1 - id : -1;
}

int ActionTokenizer::encode(double normalized) const {
    const double a = std::clamp(normalized, -1.0, 1.0);
    // numpy.digitize(a, bins) with right=False: the k with bins[k-1] <= a < bins[k]; k = n when a >=
    // bins[n-1].
    const int k = static_cast<int>(std::upper_bound(m_bins.begin(), m_bins.end(), a) - m_bins.begin());
    return m_base - k;
}

double ActionTokenizer::decode(int id) const {
    const int idx = std::clamp(m_base - id - 1, 0, m_nBins - 2);
    return m_centers[idx];
}

std::vector<double> ActionTokenizer::decode(const std::vector<int>& ids) const {
    std::vector<double> out;
    out.reserve(ids.size());
    for (int id : ids)
        out.push_back(decode(id));
    return out;
}

std::vector<double> unnormalize(const std::vector<double>& normalized, const NormStats& stats) {
    if (stats.q01.size() != normalized.size() || stats.q99.size() != normalized.size() ||
        stats.mask.size() != normalized.size())
        throw Error("statistics '" + stats.key + "' describe " + std::to_string(stats.q01.size()) +
                    " action dimensions, the action has " + std::to_string(normalized.size()));
    std::vector<double> a(normalized.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        a[i] = stats.mask[i] ? 0.5 * (normalized[i] + 1.0) * (stats.q99[i] - stats.q01[i]) + stats.q01[i]
                             : normalized[i];
    return a;
}

std::vector<double> normalize(const std::vector<double>& action, const NormStats& stats) {
    if (stats.q01.size() != action.size() || stats.mask.size() != action.size())
        throw Error("statistics '" + stats.key + "' describe " + std::to_string(stats.q01.size()) +
                    " action dimensions, the action has " + std::to_string(action.size()));
    std::vector<double> n(action.size());
    for (std::size_t i = 0; i < n.size(); ++i)
        n[i] = stats.mask[i]
                   ? std::clamp(2.0 * (action[i] - stats.q01[i]) / (stats.q99[i] - stats.q01[i] + 1e-8) - 1.0,
                                -1.0, 1.0)
                   : action[i];
    return n;
}

void liberoGripperPostprocess(std::vector<double>& action) {
    if (action.empty()) return;
    double g = 2.0 * action.back() - 1.0;
    g = g > 0 ? 1.0 : (g < 0 ? -1.0 : 0.0); // numpy.sign keeps 0
    action.back() = -g;
}

} // namespace specvla::decode
