#include "in-root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <utility>

#include "errors.h"
#include "fd.h"

namespace corral {
namespace {

// The open(2) flags the TS wrapper may name; anything else was refused there.
int OpenFlags(const std::vector<std::string>& names) {
  static const std::pair<const char*, int> known[] = {
      {"read", O_RDONLY}, {"write", O_WRONLY}, {"create", O_CREAT}, {"exclusive", O_EXCL}, {"truncate", O_TRUNC},
      {"directory", O_DIRECTORY}, {"nofollow", O_NOFOLLOW}, {"path", O_PATH},
  };
  int flags = O_CLOEXEC;
  for (const std::string& name : names) {
    for (const auto& [known_name, value] : known) {
      if (name == known_name) flags |= value;
    }
  }
  // openat2 refuses (EINVAL) any flag beside these with O_PATH, where open(2) ignored them.
  return (flags & O_PATH) != 0 ? flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : flags | O_NOCTTY;
}

// openat2 has no glibc wrapper on Debian 12; EINTR is retried, EAGAIN (a rename raced the walk) too, a few times.
int OpenAt2(int dir_fd, const std::string& path, int flags, unsigned mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  // RESOLVE_NO_MAGICLINKS: a /proc/<pid>/fd/N link inside the root would lead to whatever file that
  // process has open, anywhere on the host.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  constexpr int kRetries = 16;
  for (int attempt = 0;; ++attempt) {
    long fd = syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || (errno == EAGAIN && attempt < kRetries)) continue;
    ThrowErrno("openat2", path);
  }
}

// "a/b/c" -> ("a/b", "c"); "c" -> (".", "c"). The wrapper guarantees a last component that is a name.
std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// The parent directory of `path`, resolved in the root, as a descriptor for the *at calls.
UniqueFd OpenParentInRoot(int root_fd, const std::string& path) {
  return UniqueFd(OpenAt2(root_fd, SplitParent(path).first, O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
}

}  // namespace

int OpenInRoot(int root_fd, const std::string& path, const InRootFlags& flags) {
  return OpenAt2(root_fd, path, OpenFlags(flags.names), flags.mode);
}

void MakeDirectoryInRoot(int root_fd, const std::string& path, unsigned mode) {
  UniqueFd parent = OpenParentInRoot(root_fd, path);
  if (mkdirat(parent.Get(), SplitParent(path).second.c_str(), mode) < 0) ThrowErrno("mkdirat", path);
}

void MakeSymlinkInRoot(int root_fd, const std::string& path, const std::string& target) {
  UniqueFd parent = OpenParentInRoot(root_fd, path);
  if (symlinkat(target.c_str(), parent.Get(), SplitParent(path).second.c_str()) < 0) ThrowErrno("symlinkat", path, target);
}

void RemoveInRoot(int root_fd, const std::string& path) {
  UniqueFd parent = OpenParentInRoot(root_fd, path);
  if (unlinkat(parent.Get(), SplitParent(path).second.c_str(), 0) < 0) ThrowErrno("unlinkat", path);
}

std::string ReadLinkOf(int fd) {
  char buffer[PATH_MAX];
  ssize_t length = readlinkat(fd, "", buffer, sizeof buffer);
  if (length < 0) ThrowErrno("readlinkat", "/proc/self/fd/" + std::to_string(fd));
  return std::string(buffer, static_cast<size_t>(length));
}

void ChangeOwnerOf(int fd, unsigned uid, unsigned gid) {
  if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) ThrowErrno("fchownat", "/proc/self/fd/" + std::to_string(fd));
}

}  // namespace corral
