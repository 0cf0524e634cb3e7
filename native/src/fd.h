#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace corral {

// Owns one file descriptor so that an early throw never leaks it.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int Get() const { return fd_; }
  int Release();
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Owns one directory stream, for the same reason.
class UniqueDir {
 public:
  explicit UniqueDir(DIR* dir) : dir_(dir) {}
  UniqueDir(const UniqueDir&) = delete;
  UniqueDir& operator=(const UniqueDir&) = delete;
  ~UniqueDir();

  DIR* Get() const { return dir_; }

 private:
  DIR* dir_;
};

// open(2) that throws a SystemFailure naming the path.
UniqueFd OpenOrThrow(const std::string& path, int flags, mode_t mode = 0);

// Whole-file read, for small kernel files (cgroup, proc).
std::string ReadTextFile(const std::string& path);

// One write(2) of the whole text: cgroup files take a value per write and must not be truncated.
void WriteTextFile(const std::string& path, const std::string& text);

bool PathExists(const std::string& path);

// mkdir(2) that tolerates EEXIST; returns whether it created the directory.
bool MakeDirectory(const std::string& path, mode_t mode);

// mkdir -p; every missing level gets `mode`.
void MakeDirectories(const std::string& path, mode_t mode);

// Names of the subdirectories of `path` (not "." or ".."); empty when `path` is gone.
std::vector<std::string> ListSubdirectories(const std::string& path);

// Marks every descriptor from `first` up close-on-exec, so that a program this process executes next
// gets only the descriptors it is given explicitly (its stdio), not what this process inherited.
void MarkCloseOnExecFrom(int first);

// Splits on a separator, dropping empty pieces.
std::vector<std::string> SplitNonEmpty(const std::string& text, char separator);

}  // namespace corral
