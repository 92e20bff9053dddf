// SPDX-License-Identifier: MIT
#pragma once

#include <string>

// Process-wide runtime set-up that every executable performs once, kept free of torch headers.
namespace specvla {

// libtorch on this kind of VM defaults to one intra-op thread; set it explicitly. threads <= 0 means all
// cores the process may use. Returns the count now in effect.
int initTorchThreads(int threads = 0);
int torchThreads();
int availableCores();

std::string torchVersion();
bool cudaCompiledIn(); // the libtorch linked has CUDA and the build enabled the CUDA path
bool cudaAvailable();  // ... and a device and driver are present right now
int cudaDeviceCount();

const char* specvlaVersion();

} // namespace specvla
