// SPDX-License-Identifier: MIT
#include "model/linear.h"

#include <vector>

namespace specvla::model {

namespace {

// The most rows a CPU product goes through BLAS's matrix-vector routine for, one row at a time.
constexpr std::int64_t kRowwiseMaxRows = 3;

bool rowwise(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
    if (x.dim() < 1 || w.dim() != 2 || x.size(-1) != w.size(1)) return false;
    if (!x.device().is_cpu() || !w.device().is_cpu()) return false;
    if (x.scalar_type() != at::kFloat || w.scalar_type() != at::kFloat) return false;
    if (b.defined() && (!b.device().is_cpu() || b.scalar_type() != at::kFloat || b.dim() != 1)) return false;
    if (at::GradMode::is_enabled() &&
        (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad())))
        return false;
    const std::int64_t rows = x.size(-1) == 0 ? 0 : x.numel() / x.size(-1);
    return rows >= 1 && rows <= kRowwiseMaxRows;
}

} // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
    if (!rowwise(x, w, b)) return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
    const at::Tensor flat = x.reshape({-1, x.size(-1)});
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = w.size(0);
    const auto product = [&](const at::Tensor& row) {
        return b.defined() ? at::addmv(b, w, row) : at::mv(w, row);
    };
    if (flat.size(0) == 1) return product(flat[0]).view(sizes); // no stack for the common case
    std::vector<at::Tensor> out;
    out.reserve(static_cast<std::size_t>(flat.size(0)));
    for (std::int64_t r = 0; r < flat.size(0); ++r)
        out.push_back(product(flat[r]));
    return at::stack(out).view(sizes);
}

} // namespace specvla::model
