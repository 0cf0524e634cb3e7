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

}  // namespace corral
