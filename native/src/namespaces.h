#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corral {

// (type, pinned path) pairs, in the order the types were asked for.
using PinnedNamespaces = std::vector<std::pair<std::string, std::string>>;

// Unshares `types` on a short-lived thread of its own, sets the hostname, brings lo up and pins each
// namespace at dir/<type>; undoes its pins and throws on failure.
PinnedNamespaces CreatePinnedNamespaces(const std::string& dir, const std::vector<std::string>& types,
                                        const std::optional<std::string>& hostname);

// Detaches every mount stacked on `path`, then unlinks it; a missing or unmounted path is fine.
void RemovePinnedNamespace(const std::string& path);

}  // namespace corral
