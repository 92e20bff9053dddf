// SPDX-License-Identifier: MIT
#pragma once

// Reader for LIBERO demonstration files (raw and OpenVLA-regenerated layouts). HDF5 stays in the .cpp.
#include "data/episode.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace specvla::data {

// One open LIBERO HDF5 file. Layout, per demo group data/demo_N:
//   actions [T, 7] float32/float64, rewards [T] and dones [T] (integers, optional here),
//   obs/agentview_rgb [T, H, W, 3] uint8.
// Every problem (not HDF5, truncated, corrupt, a missing group or dataset, a wrong rank, shape or dtype, an
// index out of range) throws specvla::Error whose message names the file, the object and what was expected,
// e.g. "ep.hdf5: data/demo_3/obs/agentview_rgb: missing". Move-only; the file stays open while it lives.
class LiberoFile {
public:
    // Refuse reads larger than this many image bytes at once; read a step range instead. A corrupt or
    // hostile header can claim any shape, and chunked datasets may even be that large without backing data.
    static constexpr std::uint64_t kMaxReadBytes = 4ull << 30;

    // Validates that path is an HDF5 file with a group "data" holding at least one group "demo_N", and, for
    // the raw layout, that data's problem_info attribute is JSON with a language_instruction.
    static LiberoFile open(const std::string& path);

    LiberoFile(LiberoFile&&) noexcept;
    LiberoFile& operator=(LiberoFile&&) noexcept;
    ~LiberoFile();

    const std::string& path() const;
    // Raw when "data" has the attribute problem_info, Regenerated otherwise.
    LiberoLayout layout() const;

    // From problem_info (raw), else from the file name (instructionFromFileName), unless overridden.
    const std::string& instruction() const;
    void setInstruction(const std::string& instruction); // e.g. the CLI's --instruction
    enum class InstructionSource { ProblemInfo, FileName, Override };
    InstructionSource instructionSource() const;
    const std::string& problemName() const; // from problem_info; empty for regenerated files
    const std::string& domainName() const;  // from problem_info; empty for regenerated files

    // "demo_0", "demo_1", ..., "demo_10": numeric order. A demo index below is a position in this list, not
    // the N of demo_N: regenerated files have gaps where OpenVLA dropped failed replays.
    const std::vector<std::string>& demoNames() const;
    int numDemos() const;
    int demoIndex(const std::string& demoName) const; // -1 when absent

    // Steps of one demo, after checking that its images and actions agree in shape and length.
    int numSteps(int demoIndex) const;
    // Steps firstStep..lastStep inclusive (lastStep -1: to the end), read with hyperslabs so only that range
    // is loaded. Episode::firstStep records where the range starts. Missing rewards/dones leave those
    // vectors empty and add a note.
    Episode readDemo(int demoIndex, int firstStep = 0, int lastStep = -1) const;

private:
    struct Impl;
    explicit LiberoFile(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace specvla::data
