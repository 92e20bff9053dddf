// SPDX-License-Identifier: MIT
#include "decode/child_selection.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>

namespace specvla::decode {

std::vector<TokenLogProb> binCoverageChildren(const std::vector<float>& actionLogProbs,
                                              const std::vector<TokenLogProb>& others,
                                              const ActionTokenizer& tokenizer, int margin, int k) {
    const int nBins = tokenizer.nBins();
    if (static_cast<int>(actionLogProbs.size()) != nBins)
        throw Error("bin coverage: " + std::to_string(actionLogProbs.size()) + " action log-probs for " +
                    std::to_string(nBins) + " bins");
    if (margin < 0) throw Error("bin coverage: negative margin");
    std::vector<double> p(static_cast<std::size_t>(nBins));
    for (int b = 0; b < nBins; ++b)
        p[b] = std::exp(static_cast<double>(actionLogProbs[b]));
    std::vector<bool> covered(static_cast<std::size_t>(nBins), false);
    std::size_t nextOther = 0; // others come best first: the next one not yet taken
    std::vector<TokenLogProb> out;
    std::vector<double> prefix(static_cast<std::size_t>(nBins) + 1);
    while (static_cast<int>(out.size()) < k) {
        prefix[0] = 0;
        for (int b = 0; b < nBins; ++b)
            prefix[b + 1] = prefix[b] + (covered[b] ? 0.0 : p[b]);
        // The best action bin by newly covered mass.
        int bestBin = -1;
        double bestMass = 0;
        for (int c = 0; c < nBins; ++c) {
            const double mass = prefix[std::min(nBins, c + margin + 1)] - prefix[std::max(0, c - margin)];
            if (mass <= 0) continue;
            // Masses within rounding of each other tie (prefix sums differ in the last bits).
            const double tol = 1e-9 * std::max(mass, bestMass);
            if (bestBin < 0 || mass > bestMass + tol || (mass >= bestMass - tol && p[c] > p[bestBin])) {
                bestBin = c;
                bestMass = mass;
            }
        }
        // The best non-action token not yet taken; impossible ones (a masked or underflowed log-prob) are no
        // child.
        while (nextOther < others.size() && tokenizer.isActionToken(others[nextOther].first))
            ++nextOther;
        const double otherMass =
            nextOther < others.size() ? std::exp(static_cast<double>(others[nextOther].second)) : 0.0;
        if (bestBin < 0 && otherMass <= 0) break;
        if (bestBin >= 0 && bestMass >= otherMass) {
            // The window decides which part of the distribution to cover next; the child itself is the
            // draft's most likely uncovered bin in it (ties: nearest the window's centre, then the lower
            // bin), so a confident draft still proposes its own token, not one shifted towards the window's
            // edge.
            int token = -1;
            for (int b = std::max(0, bestBin - margin); b <= std::min(nBins - 1, bestBin + margin); ++b)
                if (!covered[b] && p[b] > 0 &&
                    (token < 0 || p[b] > p[token] ||
                     (p[b] == p[token] && std::abs(b - bestBin) < std::abs(token - bestBin))))
                    token = b;
            double mass = 0;
            for (int b = std::max(0, token - margin); b <= std::min(nBins - 1, token + margin); ++b)
                if (!covered[b]) {
                    mass += p[b];
                    covered[b] = true;
                }
            // margin 0: the mass is the bin's own probability; keep the exact log-prob.
            out.emplace_back(tokenizer.tokenOfBin(token),
                             margin == 0 ? actionLogProbs[token] : static_cast<float>(std::log(mass)));
        } else {
            out.push_back(others[nextOther++]);
        }
    }
    // Best first: a child picked later can cover more than an earlier one (its window reached further).
    std::stable_sort(out.begin(), out.end(),
                     [](const TokenLogProb& a, const TokenLogProb& b) { return a.second > b.second; });
    return out;
}

} // namespace specvla::decode
