#pragma once

#include <string>

namespace corral {

// overlayfs' form of an OCI whiteout: a 0/0 character device where a lower file is deleted.
void MakeWhiteout(const std::string& path);

// overlayfs' form of an opaque directory: the trusted.overlay.opaque="y" extended attribute.
void MarkOpaque(const std::string& dir);

}  // namespace corral
