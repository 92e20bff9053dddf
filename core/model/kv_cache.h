// SPDX-License-Identifier: MIT
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace specvla::model {

// Preallocated keys and values of every layer, [1, kvHeads, capacity, headDim] each. Forward passes write
// their new entries at [length, length + n) and advance the length; speculative decoding compacts the cache
// to the accepted path and truncates back to a cached prefix to re-decode a frame.
class KvCache {
public:
    KvCache() = default;
    KvCache(int layers, int kvHeads, int headDim, int capacity, c10::ScalarType dtype, c10::Device device);

    bool empty() const { return m_keys.empty(); }
    int layers() const { return static_cast<int>(m_keys.size()); }
    int capacity() const { return m_capacity; }
    int length() const { return m_length; }

    at::Tensor& keys(int layer) { return m_keys[layer]; }
    at::Tensor& values(int layer) { return m_values[layer]; }
    const at::Tensor& keys(int layer) const { return m_keys[layer]; }
    const at::Tensor& values(int layer) const { return m_values[layer]; }

    // Throws Error when n more entries do not fit.
    void reserveAppend(int n) const;
    // Grows the preallocated storage to at least `capacity` entries, keeping the current ones.
    void ensureCapacity(int capacity);
    void advance(int n);
    void truncate(int length);
    // Keeps the entries at base + offsets[i] as base + i (offsets ascending, offsets[i] >= i) and sets the
    // length to base + offsets.size(): the accepted root-to-node path of a verified tree.
    void compact(int base, const std::vector<std::int64_t>& offsets);

private:
    std::vector<at::Tensor> m_keys, m_values;
    int m_capacity = 0;
    int m_length = 0;
};

} // namespace specvla::model
