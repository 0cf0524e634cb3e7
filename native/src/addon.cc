#include <napi.h>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cgroups.h"
#include "errors.h"
#include "fd.h"
#include "in-root.h"
#include "links.h"
#include "locks.h"
#include "mounts.h"
#include "namespaces.h"
#include "own-thread.h"
#include "sockets.h"
#include "whiteouts.h"
#include "worker.h"

// Module init and argument plumbing only: the TS wrapper has already checked every argument, so
// these functions just copy them into workers, which run the syscalls off the main thread.

namespace corral {
namespace {

// The i-th argument as a string; the TS wrapper already checked it, this only guards the boundary.
std::string StringArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsString()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a string");
  return info[index].As<Napi::String>().Utf8Value();
}

// The i-th argument as an array of strings, same guard.
std::vector<std::string> StringArrayArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsArray()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be an array");
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<std::string> strings;
  for (uint32_t i = 0; i < array.Length(); ++i) strings.push_back(array.Get(i).ToString().Utf8Value());
  return strings;
}

// An optional numeric property: absent (undefined) stays absent rather than becoming 0.
std::optional<int64_t> OptionalInteger(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) return std::nullopt;
  return value.As<Napi::Number>().Int64Value();
}

// Runs a void job on the pool and resolves undefined.
template <typename Job>
class VoidWorker : public PromiseWorker {
 public:
  VoidWorker(Napi::Env env, Job job) : PromiseWorker(env, "corral:native"), job_(std::move(job)) {}

 protected:
  void Run() override { job_(); }

 private:
  Job job_;
};

// Wraps a lambda in a VoidWorker and returns its Promise.
template <typename Job>
Napi::Value QueueVoid(Napi::Env env, Job job) {
  return (new VoidWorker<Job>(env, std::move(job)))->QueueForPromise();
}

// What a job's result becomes in JS.
Napi::Value ToJs(Napi::Env env, int value) { return Napi::Number::New(env, value); }
Napi::Value ToJs(Napi::Env env, const std::string& value) { return Napi::String::New(env, value); }

// Runs a job that returns a value (an int, a string) on the pool and resolves that value.
template <typename Job>
class ValueWorker : public PromiseWorker {
 public:
  ValueWorker(Napi::Env env, Job job) : PromiseWorker(env, "corral:native"), job_(std::move(job)) {}

 protected:
  void Run() override { result_ = job_(); }
  Napi::Value Result(Napi::Env env) override { return ToJs(env, result_); }

 private:
  Job job_;
  std::invoke_result_t<Job&> result_{};
};

template <typename Job>
Napi::Value QueueValue(Napi::Env env, Job job) {
  return (new ValueWorker<Job>(env, std::move(job)))->QueueForPromise();
}

// The i-th argument as a non-negative integer (a descriptor, a mode, an id); the TS wrapper checked it.
unsigned UnsignedArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a number");
  return info[index].As<Napi::Number>().Uint32Value();
}

// Pins namespaces and resolves { type: path } for each pinned type.
class CreatePinnedNamespacesWorker : public PromiseWorker {
 public:
  CreatePinnedNamespacesWorker(Napi::Env env, std::string dir, std::vector<std::string> types, std::optional<std::string> hostname)
      : PromiseWorker(env, "corral:createPinnedNamespaces"), dir_(std::move(dir)), types_(std::move(types)), hostname_(std::move(hostname)) {}

 protected:
  void Run() override { pinned_ = CreatePinnedNamespaces(dir_, types_, hostname_); }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object paths = Napi::Object::New(env);
    for (const auto& [type, path] : pinned_) paths.Set(type, path);
    return paths;
  }

 private:
  std::string dir_;
  std::vector<std::string> types_;
  std::optional<std::string> hostname_;
  PinnedNamespaces pinned_;
};

// createPinnedNamespaces(dir, types, hostname | undefined)
Napi::Value CreatePinnedNamespacesBinding(const Napi::CallbackInfo& info) {
  std::optional<std::string> hostname;
  if (info[2].IsString()) hostname = StringArg(info, 2);
  auto* worker = new CreatePinnedNamespacesWorker(info.Env(), StringArg(info, 0), StringArrayArg(info, 1), hostname);
  return worker->QueueForPromise();
}

// removePinnedNamespace(path)
Napi::Value RemovePinnedNamespaceBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [path = StringArg(info, 0)] { RemovePinnedNamespace(path); });
}

// mount(source, target, fstype, flags, data); empty strings mean NULL.
Napi::Value MountBinding(const Napi::CallbackInfo& info) {
  MountRequest request{StringArg(info, 0), StringArg(info, 1), StringArg(info, 2), StringArrayArg(info, 3), StringArg(info, 4)};
  return QueueVoid(info.Env(), [request = std::move(request)] { Mount(request); });
}

// unmount(target, detach)
Napi::Value UnmountBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [target = StringArg(info, 0), detach = info[1].ToBoolean().Value()] { Unmount(target, detach); });
}

// cgroupVersion(): synchronous, one statfs.
Napi::Value CgroupVersionBinding(const Napi::CallbackInfo& info) {
  try {
    return Napi::Number::New(info.Env(), CgroupVersion());
  } catch (const SystemFailure& failure) {
    throw MakeSystemError(info.Env(), failure.info());
  }
}

// createCgroup(relPath)
Napi::Value CreateCgroupBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [rel_path = StringArg(info, 0)] { CreateCgroup(rel_path); });
}

// setCgroupLimits(relPath, { memoryBytes?, memoryReservationBytes?, cpuQuotaUs?, cpuPeriodUs?, pidsMax? })
Napi::Value SetCgroupLimitsBinding(const Napi::CallbackInfo& info) {
  if (!info[1].IsObject()) throw Napi::TypeError::New(info.Env(), "argument 1 must be an object");
  Napi::Object object = info[1].As<Napi::Object>();
  CgroupLimits limits{OptionalInteger(object, "memoryBytes"), OptionalInteger(object, "memoryReservationBytes"),
                      OptionalInteger(object, "cpuQuotaUs"), OptionalInteger(object, "cpuPeriodUs"), OptionalInteger(object, "pidsMax")};
  return QueueVoid(info.Env(), [rel_path = StringArg(info, 0), limits] { SetCgroupLimits(rel_path, limits); });
}

// killCgroup(relPath)
Napi::Value KillCgroupBinding(const Napi::CallbackInfo& info) {
  return QueueValue(info.Env(), [rel_path = StringArg(info, 0)] { return KillCgroup(rel_path); });
}

// removeCgroup(relPath)
Napi::Value RemoveCgroupBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [rel_path = StringArg(info, 0)] { RemoveCgroup(rel_path); });
}

// readCgroupFile(controller, relPath, file): synchronous, one small read.
Napi::Value ReadCgroupFileBinding(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), ReadCgroupFile(StringArg(info, 0), StringArg(info, 1), StringArg(info, 2)));
  } catch (const SystemFailure& failure) {
    throw MakeSystemError(info.Env(), failure.info());
  }
}

// lockFile(path): resolves the descriptor that holds the lock.
Napi::Value LockFileBinding(const Napi::CallbackInfo& info) {
  // flock(LOCK_EX) blocks while another process holds the lock, so it must not run on the main thread.
  return QueueValue(info.Env(), [path = StringArg(info, 0)] { return LockFileExclusive(path); });
}

// unlockFile(fd): synchronous, one close.
Napi::Value UnlockFileBinding(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "argument 0 must be a file descriptor");
  UnlockFile(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// isLockHeld(path): synchronous, as it never waits (LOCK_NB).
Napi::Value IsLockHeldBinding(const Napi::CallbackInfo& info) {
  try {
    return Napi::Boolean::New(info.Env(), IsLockHeld(StringArg(info, 0)));
  } catch (const SystemFailure& failure) {
    throw MakeSystemError(info.Env(), failure.info());
  }
}

// markInheritedDescriptorsCloseOnExec(): synchronous, one syscall, done before the spawn() that follows it.
Napi::Value MarkInheritedDescriptorsCloseOnExecBinding(const Napi::CallbackInfo& info) {
  try {
    MarkCloseOnExecFrom(3);
  } catch (const SystemFailure& failure) {
    throw MakeSystemError(info.Env(), failure.info());
  }
  return info.Env().Undefined();
}

// connectInNetworkNamespace(netnsPath, address, port, timeoutMs): resolves the connected descriptor.
Napi::Value ConnectInNetworkNamespaceBinding(const Napi::CallbackInfo& info) {
  if (!info[2].IsNumber() || !info[3].IsNumber()) throw Napi::TypeError::New(info.Env(), "port and timeout must be numbers");
  return QueueValue(info.Env(), [netns = StringArg(info, 0), address = StringArg(info, 1), port = info[2].As<Napi::Number>().Int32Value(),
                                   timeout = info[3].As<Napi::Number>().Int32Value()] {
    return ConnectInNetworkNamespace(netns, address, port, timeout);
  });
}

// connectSequencedPacket(dir, name): resolves the connected descriptor (blocking, close-on-exec).
Napi::Value ConnectSequencedPacketBinding(const Napi::CallbackInfo& info) {
  return QueueValue(info.Env(), [dir = StringArg(info, 0), name = StringArg(info, 1)] { return ConnectSequencedPacket(dir, name); });
}

// shutdownSocket(fd, how): synchronous, one syscall that does not block.
Napi::Value ShutdownSocketBinding(const Napi::CallbackInfo& info) {
  try {
    ShutdownSocket(static_cast<int>(UnsignedArg(info, 0)), StringArg(info, 1));
  } catch (const SystemFailure& failure) {
    throw MakeSystemError(info.Env(), failure.info());
  }
  return info.Env().Undefined();
}

// makeWhiteout(path) and markOpaque(dir): image layers in overlayfs' format.
Napi::Value MakeWhiteoutBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [path = StringArg(info, 0)] { MakeWhiteout(path); });
}

Napi::Value MarkOpaqueBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [dir = StringArg(info, 0)] { MarkOpaque(dir); });
}

// openInRoot(rootFd, path, flags, mode): resolves the new descriptor.
Napi::Value OpenInRootBinding(const Napi::CallbackInfo& info) {
  InRootFlags flags{StringArrayArg(info, 2), UnsignedArg(info, 3)};
  return QueueValue(info.Env(), [root = UnsignedArg(info, 0), path = StringArg(info, 1), flags = std::move(flags)] {
    return OpenInRoot(static_cast<int>(root), path, flags);
  });
}

// makeDirectoryInRoot(rootFd, path, mode)
Napi::Value MakeDirectoryInRootBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [root = UnsignedArg(info, 0), path = StringArg(info, 1), mode = UnsignedArg(info, 2)] {
    MakeDirectoryInRoot(static_cast<int>(root), path, mode);
  });
}

// makeSymlinkInRoot(rootFd, path, target)
Napi::Value MakeSymlinkInRootBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [root = UnsignedArg(info, 0), path = StringArg(info, 1), target = StringArg(info, 2)] {
    MakeSymlinkInRoot(static_cast<int>(root), path, target);
  });
}

// removeInRoot(rootFd, path)
Napi::Value RemoveInRootBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [root = UnsignedArg(info, 0), path = StringArg(info, 1)] { RemoveInRoot(static_cast<int>(root), path); });
}

// readLinkOf(fd): resolves the symlink's target.
Napi::Value ReadLinkOfBinding(const Napi::CallbackInfo& info) {
  return QueueValue(info.Env(), [fd = UnsignedArg(info, 0)] { return ReadLinkOf(static_cast<int>(fd)); });
}

// changeOwnerOf(fd, uid, gid)
Napi::Value ChangeOwnerOfBinding(const Napi::CallbackInfo& info) {
  return QueueVoid(info.Env(), [fd = UnsignedArg(info, 0), uid = UnsignedArg(info, 1), gid = UnsignedArg(info, 2)] {
    ChangeOwnerOf(static_cast<int>(fd), uid, gid);
  });
}

// A string property of an argument object; the TS wrapper checked it, absent becomes "".
std::string StringProperty(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

// linkPodToBridge({ netns, ifName, hostEnd, bridge, address, prefixLength, gateway?, mac? })
Napi::Value LinkPodToBridgeBinding(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "argument 0 must be an object");
  Napi::Object object = info[0].As<Napi::Object>();
  PodLinkRequest request{StringProperty(object, "netns"), StringProperty(object, "ifName"), StringProperty(object, "hostEnd"),
                         StringProperty(object, "bridge"), StringProperty(object, "address"),
                         static_cast<uint8_t>(object.Get("prefixLength").ToNumber().Uint32Value()), StringProperty(object, "gateway"),
                         StringProperty(object, "mac")};
  // On a thread of its own as unlinkPodInterface: its requests queue for the kernel's rtnl lock behind those deletions.
  return QueueOnOwnThread(info.Env(), "corral:linkPodToBridge", [request = std::move(request)] { LinkPodToBridge(request); });
}

// unlinkPodInterface(netns, ifName)
Napi::Value UnlinkPodInterfaceBinding(const Napi::CallbackInfo& info) {
  // Its RTM_DELLINK waits ~20 ms in the kernel: on a thread of its own, not the pool (own-thread.h).
  return QueueOnOwnThread(info.Env(), "corral:unlinkPodInterface", [netns = StringArg(info, 0), if_name = StringArg(info, 1)] { UnlinkPodInterface(netns, if_name); });
}

// Exports one JS function per operation, named as in src/native.ts.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> functions[] = {
      {"createPinnedNamespaces", CreatePinnedNamespacesBinding},
      {"removePinnedNamespace", RemovePinnedNamespaceBinding},
      {"mount", MountBinding},
      {"unmount", UnmountBinding},
      {"cgroupVersion", CgroupVersionBinding},
      {"createCgroup", CreateCgroupBinding},
      {"setCgroupLimits", SetCgroupLimitsBinding},
      {"killCgroup", KillCgroupBinding},
      {"removeCgroup", RemoveCgroupBinding},
      {"readCgroupFile", ReadCgroupFileBinding},
      {"lockFile", LockFileBinding},
      {"unlockFile", UnlockFileBinding},
      {"isLockHeld", IsLockHeldBinding},
      {"connectInNetworkNamespace", ConnectInNetworkNamespaceBinding},
      {"connectSequencedPacket", ConnectSequencedPacketBinding},
      {"shutdownSocket", ShutdownSocketBinding},
      {"markInheritedDescriptorsCloseOnExec", MarkInheritedDescriptorsCloseOnExecBinding},
      {"makeWhiteout", MakeWhiteoutBinding},
      {"markOpaque", MarkOpaqueBinding},
      {"openInRoot", OpenInRootBinding},
      {"makeDirectoryInRoot", MakeDirectoryInRootBinding},
      {"makeSymlinkInRoot", MakeSymlinkInRootBinding},
      {"removeInRoot", RemoveInRootBinding},
      {"readLinkOf", ReadLinkOfBinding},
      {"changeOwnerOf", ChangeOwnerOfBinding},
      {"linkPodToBridge", LinkPodToBridgeBinding},
      {"unlinkPodInterface", UnlinkPodInterfaceBinding},
  };
  for (const auto& [name, callback] : functions) exports.Set(name, Napi::Function::New(env, callback, name));
  return exports;
}

}  // namespace
}  // namespace corral

// NODE_API_MODULE wants a plain identifier, not a qualified name.
static Napi::Object InitCorralNative(Napi::Env env, Napi::Object exports) { return corral::Init(env, exports); }

NODE_API_MODULE(corral_native, InitCorralNative)
