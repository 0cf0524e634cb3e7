#include "locks.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"
#include "fd.h"

namespace corral {

int LockFileExclusive(const std::string& path) {
  UniqueFd fd = OpenOrThrow(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  while (flock(fd.Get(), LOCK_EX) != 0) {
    if (errno != EINTR) ThrowErrno("flock", path);
  }
  return fd.Release();
}

void UnlockFile(int fd) { close(fd); }

bool IsLockHeld(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.Get() < 0) {
    if (errno == ENOENT) return false;
    ThrowErrno("open", path);
  }
  // A shared lock that cannot be had means an exclusive holder; had, it goes with the descriptor.
  while (flock(fd.Get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return true;
    if (errno != EINTR) ThrowErrno("flock", path);
  }
  return false;
}

}  // namespace corral
