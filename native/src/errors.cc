#include "errors.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace corral {

SystemFailure::SystemFailure(SystemErrorInfo info) : info_(std::move(info)), message_(DescribeFailure(info_)) {}

void ThrowErrno(const std::string& syscall, const std::string& path, const std::string& dest) {
  ThrowErrnoValue(errno, syscall, path, dest);
}

void ThrowErrnoValue(int errnum, const std::string& syscall, const std::string& path, const std::string& dest) {
  throw SystemFailure(SystemErrorInfo{errnum, syscall, path, dest});
}

std::string ErrnoName(int errnum) {
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? name : "E" + std::to_string(errnum);
}

std::string DescribeFailure(const SystemErrorInfo& info) {
  std::string message = info.syscall;
  if (!info.path.empty()) message += " " + info.path;
  if (!info.dest.empty()) message += " -> " + info.dest;
  const char* description = strerrordesc_np(info.errnum);
  return message + ": " + (description != nullptr ? description : "Unknown error " + std::to_string(info.errnum));
}

Napi::Error MakeSystemError(Napi::Env env, const SystemErrorInfo& info) {
  Napi::Error error = Napi::Error::New(env, DescribeFailure(info));
  Napi::Object object = error.Value();
  object.Set("code", ErrnoName(info.errnum));
  object.Set("errno", -info.errnum);
  object.Set("syscall", info.syscall);
  if (!info.path.empty()) object.Set("path", info.path);
  if (!info.dest.empty()) object.Set("dest", info.dest);
  return error;
}

}  // namespace corral
