// SPDX-License-Identifier: MIT
#include "common/runtime.h"

#include "common/version.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sched.h>
#include <thread>

namespace specvla {

int availableCores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    unsigned hc = std::thread::hardware_concurrency();
    return hc > 0 ? static_cast<int>(hc) : 1;
}

int initTorchThreads(int threads) {
    const int n = threads > 0 ? threads : availableCores();
    at::set_num_threads(n);
    return at::get_num_threads();
}

int torchThreads() {
    return at::get_num_threads();
}

std::string torchVersion() {
    return TORCH_VERSION;
}

bool cudaCompiledIn() {
#if SPECVLA_WITH_CUDA
    return true;
#else
    return false;
#endif
}

bool cudaAvailable() {
    // Never throws: an absent driver or device reads as "not available".
    try {
        return cudaCompiledIn() && torch::cuda::is_available();
    } catch (...) {
        return false;
    }
}

int cudaDeviceCount() {
    try {
        return cudaCompiledIn() ? static_cast<int>(torch::cuda::device_count()) : 0;
    } catch (...) {
        return 0;
    }
}

const char* specvlaVersion() {
    return SPECVLA_VERSION_STRING;
}

} // namespace specvla
