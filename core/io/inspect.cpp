// SPDX-License-Identifier: MIT
#include "io/inspect.h"

#include "common/error.h"
#include "io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

namespace specvla::io {
namespace {

// Counts NaN and infinite values by their exponent bits, so no dtype needs converting.
std::uint64_t countNonFinite(const std::byte* p, const TensorInfo& t) {
    const std::int64_t n = t.numel();
    std::uint64_t bad = 0;
    auto each = [&](auto width, auto isBad) {
        using W = decltype(width);
        for (std::int64_t i = 0; i < n; ++i) {
            W v;
            std::memcpy(&v, p + i * sizeof(W), sizeof(W));
            bad += isBad(v) ? 1 : 0;
        }
    };
    switch (t.dtype) {
    case DType::F32:
        each(std::uint32_t{}, [](std::uint32_t v) { return (v & 0x7f800000u) == 0x7f800000u; });
        break;
    case DType::F64:
        each(std::uint64_t{},
             [](std::uint64_t v) { return (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull; });
        break;
    case DType::BF16:
        each(std::uint16_t{}, [](std::uint16_t v) { return (v & 0x7f80) == 0x7f80; });
        break;
    case DType::F16:
        each(std::uint16_t{}, [](std::uint16_t v) { return (v & 0x7c00) == 0x7c00; });
        break;
    case DType::F8_E4M3:
        each(std::uint8_t{}, [](std::uint8_t v) { return (v & 0x7f) == 0x7f; });
        break;
    case DType::F8_E5M2:
        each(std::uint8_t{}, [](std::uint8_t v) { return (v & 0x7c) == 0x7c; });
        break;
    default:
        break;
    }
    return bad;
}

std::string shapeOf(const nlohmann::json& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i].get<std::int64_t>());
    return s + "]";
}

} // namespace

std::string humanBytes(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
    return buf;
}

nlohmann::json inspectCheckpoint(const std::string& dirOrFile, const InspectOptions& options) {
    nlohmann::json r;
    r["source"] = dirOrFile;
    try {
        const Checkpoint c = Checkpoint::open(dirOrFile);
        r["valid"] = true;
        r["format"] = c.indexPath().empty() ? "single" : "sharded";
        if (!c.indexPath().empty()) r["index"] = c.indexPath();
        std::vector<std::uint64_t> shardBytes(c.shardCount(), 0), shardTensors(c.shardCount(), 0);
        std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> byDtype; // count, bytes
        nlohmann::json tensors = nlohmann::json::array();
        std::uint64_t nonFiniteTotal = 0;
        for (const auto& e : c.tensors()) {
            const auto& t = e.info;
            nlohmann::json j = {
                {"name", t.name},
                {"dtype", dtypeName(t.dtype)},
                {"shape", t.shape},
                {"bytes", t.byteSize()},
                {"shard", std::filesystem::path(c.shardPaths()[e.shard]).filename().string()}};
            if (options.verifyData) {
                const std::uint64_t bad = countNonFinite(c.shard(e.shard).data(t), t);
                j["non_finite"] = bad;
                nonFiniteTotal += bad;
            }
            tensors.push_back(std::move(j));
            shardBytes[e.shard] += t.byteSize();
            ++shardTensors[e.shard];
            auto& d = byDtype[dtypeName(t.dtype)];
            ++d.first;
            d.second += t.byteSize();
        }
        nlohmann::json shards = nlohmann::json::array();
        for (std::size_t i = 0; i < c.shardCount(); ++i)
            shards.push_back({{"file", c.shardPaths()[i]},
                              {"tensors", shardTensors[i]},
                              {"bytes", shardBytes[i]},
                              {"file_size", c.shard(i).fileSize()},
                              {"header_bytes", c.shard(i).headerSize()}});
        nlohmann::json dt = nlohmann::json::object();
        for (const auto& [name, v] : byDtype)
            dt[name] = {{"tensors", v.first}, {"bytes", v.second}};
        r["tensors"] = std::move(tensors);
        r["shards"] = std::move(shards);
        r["totals"] = {{"tensors", c.tensors().size()}, {"bytes", c.totalBytes()}, {"by_dtype", dt}};
        if (c.declaredTotalSize()) r["declared_total_size"] = *c.declaredTotalSize();
        r["warnings"] = c.warnings();
        if (options.verifyData) {
            r["data_verified"] = true;
            r["non_finite_total"] = nonFiniteTotal;
            if (nonFiniteTotal > 0) {
                r["valid"] = false;
                r["error"] = dirOrFile + ": " + std::to_string(nonFiniteTotal) +
                             " non-finite (NaN or infinite) values; see the tensors with non_finite > 0";
            }
        }
    } catch (const std::exception& e) {
        r["valid"] = false;
        r["error"] = e.what();
    }
    return r;
}

std::string formatInspectReport(const nlohmann::json& r) {
    std::ostringstream os;
    if (!r.contains("tensors")) {
        os << "INVALID: " << r.value("error", std::string("unknown error")) << "\n";
        return os.str();
    }
    const bool sharded = r.value("format", "") == "sharded";
    os << "checkpoint: " << r["source"].get<std::string>() << "\n";
    if (sharded) os << "index:      " << r["index"].get<std::string>() << "\n";
    std::size_t nameW = 4, shapeW = 5, shardW = 5;
    for (const auto& t : r["tensors"]) {
        nameW = std::max(nameW, t["name"].get<std::string>().size());
        shapeW = std::max(shapeW, shapeOf(t["shape"]).size());
        shardW = std::max(shardW, t["shard"].get<std::string>().size());
    }
    const bool verified = r.value("data_verified", false);
    char line[1024];
    auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                   const std::string& e, const std::string& f) {
        std::snprintf(line, sizeof line, "%-*s  %-7s  %-*s  %12s  %-*s%s\n", static_cast<int>(nameW),
                      a.c_str(), b.c_str(), static_cast<int>(shapeW), c.c_str(), d.c_str(),
                      static_cast<int>(shardW), e.c_str(), f.c_str());
        os << line;
    };
    row("NAME", "DTYPE", "SHAPE", "BYTES", "SHARD", verified ? "  NON-FINITE" : "");
    for (const auto& t : r["tensors"])
        row(t["name"].get<std::string>(), t["dtype"].get<std::string>(), shapeOf(t["shape"]),
            std::to_string(t["bytes"].get<std::uint64_t>()), t["shard"].get<std::string>(),
            verified ? "  " + std::to_string(t.value("non_finite", 0ull)) : "");
    const auto& tot = r["totals"];
    os << "\ntotals: " << tot["tensors"].get<std::uint64_t>() << " tensors, "
       << humanBytes(tot["bytes"].get<std::uint64_t>()) << " (" << tot["bytes"].get<std::uint64_t>()
       << " bytes) in " << r["shards"].size() << (r["shards"].size() == 1 ? " file" : " shards") << "\n";
    for (auto it = tot["by_dtype"].begin(); it != tot["by_dtype"].end(); ++it)
        os << "  " << it.key() << ": " << (*it)["tensors"].get<std::uint64_t>() << " tensors, "
           << humanBytes((*it)["bytes"].get<std::uint64_t>()) << "\n";
    for (const auto& w : r["warnings"])
        os << "warning: " << w.get<std::string>() << "\n";
    if (r.value("valid", false))
        os << "valid\n";
    else
        os << "INVALID: " << r.value("error", std::string("unknown error")) << "\n";
    return os.str();
}

} // namespace specvla::io
