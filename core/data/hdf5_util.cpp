// SPDX-License-Identifier: MIT
#include "data/hdf5_util.h"

#include <chrono>
#include <csignal>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace specvla::data::h5 {
namespace {

thread_local std::string t_lastDetail;

herr_t takeInnermost(unsigned, const H5E_error2_t* err, void* data) {
    auto* out = static_cast<std::string*>(data);
    if (out->empty() && err != nullptr) {
        if (err->desc != nullptr && err->desc[0] != '\0')
            *out = err->desc;
        else if (err->func_name != nullptr)
            *out = std::string(err->func_name) + " failed";
    }
    return 0;
}

// Runs in place of HDF5's stack printer whenever a library call fails on this thread.
herr_t keepInnermost(hid_t stack, void*) {
    std::string detail;
    H5Ewalk2(stack, H5E_WALK_UPWARD, takeInnermost, &detail); // upward: the most specific error first
    t_lastDetail = detail;
    // Thread-safe HDF5 frees a thread's error stack at thread exit without releasing the error records'
    // references; a worker thread that ends after a failure then makes the library loop at process exit
    // ("HDF5: infinite loop closing library"). The message is kept above, so the stack can go now.
    H5Eclear2(stack);
    return 0;
}

bool writeAll(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

std::recursive_mutex& libraryMutex() {
    static std::recursive_mutex mutex;
    return mutex;
}

void quietErrors() {
    H5Eset_auto2(H5E_DEFAULT, keepInnermost, nullptr);
}

std::string lastDetail() {
    return t_lastDetail;
}

Error toError(const std::string& file, const std::string& object, const std::string& what,
              const H5::Exception& e) {
    std::string detail = t_lastDetail;
    t_lastDetail.clear();
    H5Eclear2(H5E_DEFAULT); // see keepInnermost
    if (detail.empty()) detail = e.getDetailMsg();
    std::string message = file + ": ";
    if (!object.empty()) message += object + ": ";
    message += what;
    if (!detail.empty()) message += " (HDF5: " + detail + ")";
    return Error(message);
}

std::string typeName(const H5::DataType& type) {
    const hid_t id = type.getId();
    const std::size_t bits = H5Tget_size(id) * 8;
    switch (H5Tget_class(id)) {
    case H5T_INTEGER:
        return (H5Tget_sign(id) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT:
        return "float" + std::to_string(bits);
    case H5T_STRING:
        return "string";
    case H5T_COMPOUND:
        return "compound";
    case H5T_ENUM:
        return "enum";
    case H5T_ARRAY:
        return "array";
    case H5T_VLEN:
        return "variable-length sequence";
    case H5T_OPAQUE:
        return "opaque";
    case H5T_BITFIELD:
        return "bitfield";
    case H5T_REFERENCE:
        return "reference";
    default:
        return "unknown type";
    }
}

std::string dimsString(const std::vector<hsize_t>& dims) {
    if (dims.empty()) return "scalar";
    std::string out = "[";
    for (std::size_t i = 0; i < dims.size(); ++i)
        out += (i ? ", " : "") + std::to_string(dims[i]);
    return out + "]";
}

std::vector<hsize_t> dimsOf(const H5::DataSet& dataset) {
    const H5::DataSpace space = dataset.getSpace();
    if (space.getSimpleExtentType() != H5S_SIMPLE) return {};
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> dims(rank > 0 ? rank : 0);
    if (rank > 0) space.getSimpleExtentDims(dims.data());
    return dims;
}

IsolatedRead readStringInChild(const H5::Attribute& attr, int timeoutMs) {
    IsolatedRead result;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return result; // Unavailable
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return result;
    }
    if (pid == 0) {
        // The child: die quietly if HDF5 does (no core file, no glibc heap report, no inherited crash
        // handler).
        const struct rlimit noCore = {0, 0};
        ::setrlimit(RLIMIT_CORE, &noCore);
        for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
            std::signal(sig, SIG_DFL);
        const int devNull = ::open("/dev/null", O_WRONLY);
        if (devNull >= 0) ::dup2(devNull, 2);
        ::close(fds[0]);
        char status = 'O';
        std::string text;
        try {
            attr.read(attr.getStrType(), text);
        } catch (const H5::Exception& e) {
            status = 'E';
            text = t_lastDetail.empty() ? e.getDetailMsg() : t_lastDetail;
        } catch (...) {
            status = 'E';
            text = "unexpected failure";
        }
        writeAll(fds[1], &status, 1);
        writeAll(fds[1], text.data(), text.size());
        ::_exit(0); // no atexit handlers: they belong to the parent
    }

    ::close(fds[1]);
    std::string received;
    bool timedOut = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timedOut = true;
            break;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            timedOut = ready == 0;
            break;
        }
        char buffer[4096];
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // end of the child's output
        received.append(buffer, static_cast<std::size_t>(n));
        if (received.size() > kMaxIsolatedBytes) break;
    }
    ::close(fds[0]);
    if (timedOut) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }

    if (timedOut) {
        result.status = IsolatedRead::Status::TimedOut;
    } else if (WIFSIGNALED(status)) {
        result.status = IsolatedRead::Status::Crashed;
        result.text = std::to_string(WTERMSIG(status));
    } else if (received.size() > kMaxIsolatedBytes) {
        result.status = IsolatedRead::Status::TooLarge;
    } else if (received.empty()) {
        result.status = IsolatedRead::Status::Crashed;
        result.text = "no output";
    } else {
        result.status = received[0] == 'O' ? IsolatedRead::Status::Ok : IsolatedRead::Status::Failed;
        result.text = received.substr(1);
    }
    return result;
}

} // namespace specvla::data::h5
