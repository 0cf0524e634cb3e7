#include "fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "errors.h"

namespace corral {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) Reset(other.Release());
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

UniqueDir::~UniqueDir() {
  if (dir_ != nullptr) closedir(dir_);
}

UniqueFd OpenOrThrow(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) ThrowErrno("open", path);
  return UniqueFd(fd);
}

std::string ReadTextFile(const std::string& path) {
  UniqueFd fd = OpenOrThrow(path, O_RDONLY);
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t count = read(fd.Get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) ThrowErrno("read", path);
    if (count == 0) return text;
    text.append(buffer, static_cast<size_t>(count));
  }
}

void WriteTextFile(const std::string& path, const std::string& text) {
  UniqueFd fd = OpenOrThrow(path, O_WRONLY);
  ssize_t count;
  do {
    count = write(fd.Get(), text.data(), text.size());
  } while (count < 0 && errno == EINTR);
  if (count < 0) ThrowErrno("write", path);
  if (static_cast<size_t>(count) != text.size()) ThrowErrnoValue(EIO, "write", path);
}

bool PathExists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

bool MakeDirectory(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) == 0) return true;
  if (errno == EEXIST) return false;
  ThrowErrno("mkdir", path);
}

void MakeDirectories(const std::string& path, mode_t mode) {
  std::string prefix = path[0] == '/' ? "" : ".";
  for (const std::string& part : SplitNonEmpty(path, '/')) {
    prefix += "/" + part;
    MakeDirectory(prefix, mode);
  }
}

std::vector<std::string> ListSubdirectories(const std::string& path) {
  UniqueDir dir(opendir(path.c_str()));
  if (dir.Get() == nullptr) {
    if (errno == ENOENT) return {};
    ThrowErrno("opendir", path);
  }
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(dir.Get())) {
    std::string name = entry->d_name;
    if (entry->d_type != DT_DIR || name == "." || name == "..") continue;
    names.push_back(name);
  }
  return names;
}

void MarkCloseOnExecFrom(int first) {
  // One syscall, all descriptors at once, none opened meanwhile missed (Linux 5.11, glibc 2.34).
  if (close_range(static_cast<unsigned>(first), UINT_MAX, CLOSE_RANGE_CLOEXEC) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) ThrowErrno("close_range", "/proc/self/fd");
  // An older kernel: each open descriptor as /proc/self/fd lists them (opendir's own is close-on-exec).
  UniqueDir dir(opendir("/proc/self/fd"));
  if (dir.Get() == nullptr) ThrowErrno("opendir", "/proc/self/fd");
  while (struct dirent* entry = readdir(dir.Get())) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd < first) continue;
    int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC);
  }
}

std::vector<std::string> SplitNonEmpty(const std::string& text, char separator) {
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    if (end > start) pieces.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return pieces;
}

}  // namespace corral
