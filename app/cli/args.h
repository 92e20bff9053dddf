// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace specvla::cli {

// A usage mistake: printed with the command's help and exit code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The fields of a separated list, empty ones included: "a,,b" gives "a", "", "b"; "" gives one empty field.
std::vector<std::string> splitFields(const std::string& text, char separator);

// Minimal GNU-style parser: --flag, --opt VALUE, --opt=VALUE, positionals; "--" ends options.
class Args {
public:
    // valueOptions take a value; flags do not. Anything else starting with "--" is a UsageError.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& valueOptions,
         const std::set<std::string>& flags);

    bool has(const std::string& name) const { return m_flags.count(name) || m_values.count(name); }
    std::optional<std::string> value(const std::string& name) const;
    const std::vector<std::string>& positionals() const { return m_positionals; }

private:
    std::set<std::string> m_flags;
    std::map<std::string, std::string> m_values;
    std::vector<std::string> m_positionals;
};

} // namespace specvla::cli
