#pragma once

#include <napi.h>

#include <exception>
#include <string>

namespace corral {

// What a failed syscall leaves behind: enough to build Node's own error shape on the main thread.
struct SystemErrorInfo {
  int errnum = 0;
  std::string syscall;
  std::string path;
  std::string dest;
};

// Thrown by the syscall helpers inside a worker's Execute(); carries the errno, never a JS value.
class SystemFailure : public std::exception {
 public:
  explicit SystemFailure(SystemErrorInfo info);
  const SystemErrorInfo& info() const { return info_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  SystemErrorInfo info_;
  std::string message_;
};

// Throws the current errno as a SystemFailure; call right after the failing syscall.
[[noreturn]] void ThrowErrno(const std::string& syscall, const std::string& path, const std::string& dest = "");

// Throws an explicit errno (for results that are not -1/errno shaped).
[[noreturn]] void ThrowErrnoValue(int errnum, const std::string& syscall, const std::string& path, const std::string& dest = "");

// "EPERM" for EPERM, "Unknown system error N" style fallback for the rest.
std::string ErrnoName(int errnum);

// The message callers see, e.g. "mount /a -> /b: Operation not permitted".
std::string DescribeFailure(const SystemErrorInfo& info);

// Builds the JS Error with code, errno (negative, like Node's fs errors), syscall, path and dest.
Napi::Error MakeSystemError(Napi::Env env, const SystemErrorInfo& info);

}  // namespace corral
