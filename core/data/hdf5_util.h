// SPDX-License-Identifier: MIT
#pragma once

// Internal to core/data (libero_reader.cpp, libero_writer.cpp): never include it from a public header, it
// pulls in HDF5.
#include "common/error.h"

#include <H5Cpp.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace specvla::data::h5 {

// Held around every use of HDF5 in this module. HDF5 serialises its API anyway; holding this one lets
// readStringInChild() fork while no other thread is inside HDF5 (a lock held at fork time would stay held
// in the child forever).
std::recursive_mutex& libraryMutex();

// Debian's HDF5 is built thread-safe, which makes the error stack and its automatic printing per thread: a
// setting made on the UI thread does not reach the decoder worker. So every entry point calls this. It
// replaces the default handler (which prints the whole stack to stderr) with a silent one that only keeps
// the innermost message of the failure, the one that says what is wrong with the file.
void quietErrors();

// What every public function of the module that touches HDF5 starts with: the lock, then quiet errors.
class Guard {
public:
    Guard() : m_lock(libraryMutex()) { quietErrors(); }

private:
    std::lock_guard<std::recursive_mutex> m_lock;
};

// The innermost HDF5 message of the last failed call on this thread ("truncated file: eof = 2048, ...").
std::string lastDetail();

// "{file}: {object}: {what} ({HDF5's innermost message})" for an H5::Exception caught while doing `what`.
Error toError(const std::string& file, const std::string& object, const std::string& what,
              const H5::Exception& e);

// "uint8", "float32", "string", "compound", ... for messages.
std::string typeName(const H5::DataType& type);
// "[12, 128, 128, 3]", "scalar".
std::string dimsString(const std::vector<hsize_t>& dims);
std::vector<hsize_t> dimsOf(const H5::DataSet& dataset);

// Reads a scalar string attribute in a forked child process and hands the text back through a pipe.
// HDF5 1.10.8 copies a variable-length string from the global heap trusting a length stored in the file: a
// corrupt heap makes it write past its buffer (SIGSEGV, glibc abort) or copy gigabytes (a hang). Fuzzing
// LIBERO files found every remaining in-process crash there, so this one read is isolated. The caller holds
// libraryMutex(). Unavailable (no fork) means: read in process.
constexpr std::size_t kMaxIsolatedBytes = 16u << 20;
struct IsolatedRead {
    enum class Status { Unavailable, Ok, Failed, Crashed, TimedOut, TooLarge };
    Status status = Status::Unavailable;
    std::string text; // the string (Ok), HDF5's message (Failed), the signal number (Crashed)
};
IsolatedRead readStringInChild(const H5::Attribute& attribute, int timeoutMs);

} // namespace specvla::data::h5
