// SPDX-License-Identifier: MIT
#include "io/safetensors_writer.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace specvla::io {
namespace {

std::uint64_t expectedBytes(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape) {
    std::uint64_t n = dtypeSize(dtype);
    for (auto d : shape) {
        if (d < 0) throw Error("tensor '" + name + "': negative size in shape");
        n *= static_cast<std::uint64_t>(d);
    }
    return n;
}

// Owns a temporary file next to the destination; renamed into place on commit, removed otherwise.
class AtomicFile {
public:
    explicit AtomicFile(const std::string& path) : m_path(path) {
        // Saving through a symbolic link replaces the file it points at, not the link.
        std::error_code ec;
        if (fs::is_symlink(fs::path(path), ec)) {
            const fs::path target = fs::weakly_canonical(fs::path(path), ec);
            if (!ec) m_path = target.string();
        }
        // A file that exists keeps its permissions (a private session stays private).
        struct stat st {};
        if (::stat(m_path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) m_mode = st.st_mode & 07777;
        const fs::path p(m_path);
        const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
        std::string tmpl = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
        m_fd = ::mkstemp(tmpl.data());
        if (m_fd < 0) throw Error(path + ": cannot create a temporary file: " + std::strerror(errno));
        m_tmp = tmpl;
    }
    ~AtomicFile() {
        if (m_fd >= 0) ::close(m_fd);
        if (!m_committed) ::unlink(m_tmp.c_str());
    }
    void write(const void* data, std::size_t n) {
        const char* p = static_cast<const char*>(data);
        while (n > 0) {
            const ssize_t w = ::write(m_fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                fail("write failed");
            }
            p += w;
            n -= static_cast<std::size_t>(w);
        }
    }
    void skip(std::uint64_t n) {
        if (n && ::lseek(m_fd, static_cast<off_t>(n), SEEK_CUR) < 0) fail("seek failed");
    }
    void commit() {
        const off_t end = ::lseek(m_fd, 0, SEEK_CUR);
        if (end < 0 || ::ftruncate(m_fd, end) != 0)
            fail("cannot set the file size"); // materialise trailing holes
        if (::fsync(m_fd) != 0) fail("fsync failed");
        // mkstemp creates 0600: give the file the replaced file's permissions, or ordinary ones.
        ::fchmod(m_fd, m_mode);
        ::close(m_fd);
        m_fd = -1;
        if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) fail("cannot rename into place");
        m_committed = true;
    }

private:
    [[noreturn]] void fail(const char* what) {
        throw Error(m_path + ": " + what + ": " + std::strerror(errno));
    }
    std::string m_path, m_tmp;
    int m_fd = -1;
    mode_t m_mode = 0644;
    bool m_committed = false;
};

} // namespace

void SafetensorsWriter::add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                            const void* data, std::size_t bytes) {
    const std::uint64_t need = expectedBytes(name, dtype, shape);
    if (need != bytes)
        throw Error("tensor '" + name + "': " + std::to_string(bytes) +
                    " bytes given, shape and dtype need " + std::to_string(need));
    for (const auto& e : m_entries)
        if (e.name == name) throw Error("tensor '" + name + "' added twice");
    Entry e{name, dtype, shape, {}, need, false};
    e.bytes.assign(static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + bytes);
    m_entries.push_back(std::move(e));
}

void SafetensorsWriter::addSparse(const std::string& name, DType dtype,
                                  const std::vector<std::int64_t>& shape) {
    for (const auto& e : m_entries)
        if (e.name == name) throw Error("tensor '" + name + "' added twice");
    m_entries.push_back(Entry{name, dtype, shape, {}, expectedBytes(name, dtype, shape), true});
}

std::uint64_t SafetensorsWriter::dataBytes() const {
    std::uint64_t s = 0;
    for (const auto& e : m_entries)
        s += e.byteSize;
    return s;
}

void SafetensorsWriter::writeEntries(const std::string& path,
                                     const std::vector<const Entry*>& entries) const {
    nlohmann::json header = nlohmann::json::object();
    if (!m_metadata.empty()) header["__metadata__"] = m_metadata;
    std::uint64_t offset = 0;
    for (const Entry* e : entries) {
        header[e->name] = {{"dtype", dtypeName(e->dtype)},
                           {"shape", e->shape},
                           {"data_offsets", {offset, offset + e->byteSize}}};
        offset += e->byteSize;
    }
    std::string text = header.dump();
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    while ((8 + text.size()) % 8 != 0)
        text.push_back(' ');

    AtomicFile out(path);
    std::uint8_t len[8];
    std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<std::uint8_t>(n >> (8 * i));
    out.write(len, 8);
    out.write(text.data(), text.size());
    for (const Entry* e : entries) {
        if (e->sparse)
            out.skip(e->byteSize);
        else
            out.write(e->bytes.data(), e->bytes.size());
    }
    out.commit();
}

void SafetensorsWriter::writeFile(const std::string& path) const {
    std::vector<const Entry*> all;
    for (const auto& e : m_entries)
        all.push_back(&e);
    writeEntries(path, all);
}

std::vector<std::string> SafetensorsWriter::writeSharded(const std::string& dir, std::uint64_t maxShardBytes,
                                                         const std::string& base) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) throw Error(dir + ": cannot create folder");

    std::vector<std::vector<const Entry*>> shards(1);
    std::uint64_t current = 0;
    for (const auto& e : m_entries) {
        if (!shards.back().empty() && current + e.byteSize > maxShardBytes) {
            shards.emplace_back();
            current = 0;
        }
        shards.back().push_back(&e);
        current += e.byteSize;
    }
    std::vector<std::string> names;
    if (shards.size() == 1) { // as save_pretrained does: one shard is a plain file without an index
        names.push_back(base + ".safetensors");
        writeEntries((fs::path(dir) / names.back()).string(), shards.front());
        return names;
    }
    nlohmann::json weightMap = nlohmann::json::object();
    char buf[64];
    for (std::size_t i = 0; i < shards.size(); ++i) {
        std::snprintf(buf, sizeof buf, "-%05zu-of-%05zu.safetensors", i + 1, shards.size());
        names.push_back(base + buf);
        writeEntries((fs::path(dir) / names.back()).string(), shards[i]);
        for (const Entry* e : shards[i])
            weightMap[e->name] = names.back();
    }
    nlohmann::json index = {{"metadata", {{"total_size", dataBytes()}}}, {"weight_map", weightMap}};
    writeFileAtomically((fs::path(dir) / (base + ".safetensors.index.json")).string(), index.dump(2) + "\n");
    return names;
}

void writeFileAtomically(const std::string& path, const std::string& contents) {
    AtomicFile out(path);
    out.write(contents.data(), contents.size());
    out.commit();
}

} // namespace specvla::io
