#pragma once

#include <string>
#include <vector>

namespace corral {

// Paths resolved as if a directory were "/": openat2(2) with RESOLVE_IN_ROOT, so that "..", an
// absolute symlink or a symlink in any component stays inside that directory (Linux 5.6). What
// `corral cp` uses to reach into a container's root without a symlink there ever leading to a host
// path. Each function takes the root as a descriptor, so the root cannot change under a long copy.

// open flags by name, as the TS wrapper passes them.
struct InRootFlags {
  std::vector<std::string> names;
  unsigned mode = 0;
};

// openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); returns the new descriptor (close-on-exec).
int OpenInRoot(int root_fd, const std::string& path, const InRootFlags& flags);

// mkdirat(2) of the last component of `path`, in its parent resolved in the root; the last
// component itself is never followed (an existing symlink there fails with EEXIST).
void MakeDirectoryInRoot(int root_fd, const std::string& path, unsigned mode);

// symlinkat(2) of the last component of `path` pointing at `target`, in its parent resolved in the root.
void MakeSymlinkInRoot(int root_fd, const std::string& path, const std::string& target);

// unlinkat(2) of the last component of `path` (never a directory), in its parent resolved in the root.
void RemoveInRoot(int root_fd, const std::string& path);

// readlinkat(fd, ""): the target of the symlink `fd` was opened on (O_PATH | O_NOFOLLOW).
std::string ReadLinkOf(int fd);

// fchownat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW): owners of whatever `fd` is open on, a symlink included.
void ChangeOwnerOf(int fd, unsigned uid, unsigned gid);

}  // namespace corral
