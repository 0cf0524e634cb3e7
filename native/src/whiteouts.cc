#include "whiteouts.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "errors.h"

namespace corral {

void MakeWhiteout(const std::string& path) {
  if (mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)) < 0) ThrowErrno("mknod", path);
}

void MarkOpaque(const std::string& dir) {
  if (setxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0) < 0) ThrowErrno("setxattr", dir);
}

}  // namespace corral
