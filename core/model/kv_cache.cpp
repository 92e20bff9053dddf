// SPDX-License-Identifier: MIT
#include "model/kv_cache.h"

#include "common/error.h"

#include <ATen/ATen.h>

namespace specvla::model {

KvCache::KvCache(int layers, int kvHeads, int headDim, int capacity, c10::ScalarType dtype,
                 c10::Device device)
    : m_capacity(capacity) {
    const auto opts = at::TensorOptions().dtype(dtype).device(device);
    for (int l = 0; l < layers; ++l) {
        m_keys.push_back(at::zeros({1, kvHeads, capacity, headDim}, opts));
        m_values.push_back(at::zeros({1, kvHeads, capacity, headDim}, opts));
    }
}

void KvCache::reserveAppend(int n) const {
    if (m_length + n > m_capacity)
        throw Error("KV cache full: " + std::to_string(m_length) + " entries + " + std::to_string(n) +
                    " new exceed the capacity of " + std::to_string(m_capacity));
}

void KvCache::ensureCapacity(int capacity) {
    if (capacity <= m_capacity || m_keys.empty()) return;
    for (auto* list : {&m_keys, &m_values})
        for (auto& t : *list) {
            at::Tensor bigger = at::zeros({t.size(0), t.size(1), capacity, t.size(3)}, t.options());
            bigger.narrow(2, 0, m_length).copy_(t.narrow(2, 0, m_length));
            t = bigger;
        }
    m_capacity = capacity;
}

void KvCache::advance(int n) {
    reserveAppend(n);
    m_length += n;
}

void KvCache::truncate(int length) {
    if (length < 0 || length > m_length)
        throw Error("KV cache: cannot truncate " + std::to_string(m_length) + " entries to " +
                    std::to_string(length));
    m_length = length;
}

void KvCache::compact(int base, const std::vector<std::int64_t>& offsets) {
    const int n = static_cast<int>(offsets.size());
    for (int i = 0; i < n; ++i)
        if (offsets[i] < i || base + offsets[i] >= m_length || (i > 0 && offsets[i] <= offsets[i - 1]))
            throw Error("KV cache: invalid compaction offsets");
    bool identity = true;
    for (int i = 0; i < n; ++i)
        identity = identity && offsets[i] == i;
    if (!identity && n > 0) {
        const auto idx =
            at::tensor(offsets, at::TensorOptions().dtype(at::kLong)).add_(base).to(m_keys[0].device());
        for (std::size_t l = 0; l < m_keys.size(); ++l) {
            // gather first, then write: source and destination ranges may overlap
            const at::Tensor k = m_keys[l].index_select(2, idx);
            const at::Tensor v = m_values[l].index_select(2, idx);
            m_keys[l].narrow(2, base, n).copy_(k);
            m_values[l].narrow(2, base, n).copy_(v);
        }
    }
    m_length = base + n;
}

} // namespace specvla::model
