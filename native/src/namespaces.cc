#include "namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "errors.h"
#include "fd.h"

namespace corral {
namespace {

// The clone flag of a namespace type; the TS wrapper only lets net, ipc and uts through.
int CloneFlagOf(const std::string& type) {
  if (type == "net") return CLONE_NEWNET;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  ThrowErrnoValue(EINVAL, "unshare", type);
}

// A fresh netns has lo down; containers expect 127.0.0.1 to work.
void BringLoopbackUp() {
  int raw = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (raw < 0) ThrowErrno("socket", "lo");
  UniqueFd socket_fd(raw);
  struct ifreq request;
  std::memset(&request, 0, sizeof request);
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(socket_fd.Get(), SIOCGIFFLAGS, &request) < 0) ThrowErrno("ioctl", "lo");
  request.ifr_flags |= IFF_UP;
  if (ioctl(socket_fd.Get(), SIOCSIFFLAGS, &request) < 0) ThrowErrno("ioctl", "lo");
}

// Unmounts and unlinks the pins made so far unless dismissed, so a failure leaves nothing behind.
class PinRollback {
 public:
  ~PinRollback() {
    if (dismissed_) return;
    for (const std::string& pin : pins_) {
      umount2(pin.c_str(), MNT_DETACH);
      unlink(pin.c_str());
    }
  }
  void Add(const std::string& pin) { pins_.push_back(pin); }
  void Dismiss() { dismissed_ = true; }

 private:
  std::vector<std::string> pins_;
  bool dismissed_ = false;
};

// The body of the dedicated thread: everything here happens inside the new namespaces.
PinnedNamespaces PinNamespacesOnThisThread(const std::string& dir, const std::vector<std::string>& types,
                                           const std::optional<std::string>& hostname) {
  int flags = 0;
  for (const std::string& type : types) flags |= CloneFlagOf(type);
  if (unshare(flags) < 0) ThrowErrno("unshare", dir);

  if ((flags & CLONE_NEWUTS) != 0 && hostname) {
    if (sethostname(hostname->data(), hostname->size()) < 0) ThrowErrno("sethostname", *hostname);
  }
  if ((flags & CLONE_NEWNET) != 0) BringLoopbackUp();

  const std::string task_ns = "/proc/self/task/" + std::to_string(gettid()) + "/ns/";
  PinnedNamespaces pinned;
  PinRollback rollback;
  for (const std::string& type : types) {
    const std::string pin = dir + "/" + type;
    rollback.Add(pin);
    OpenOrThrow(pin, O_WRONLY | O_CREAT, 0600);
    if (mount((task_ns + type).c_str(), pin.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      ThrowErrno("mount", task_ns + type, pin);
    }
    pinned.emplace_back(type, pin);
  }
  rollback.Dismiss();
  return pinned;
}

}  // namespace

PinnedNamespaces CreatePinnedNamespaces(const std::string& dir, const std::vector<std::string>& types,
                                        const std::optional<std::string>& hostname) {
  MakeDirectories(dir, 0700);
  PinnedNamespaces pinned;
  std::exception_ptr failure;
  // The thread exits after pinning, so no thread of this process stays in the namespaces.
  std::thread pinner([&] {
    try {
      pinned = PinNamespacesOnThisThread(dir, types, hostname);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  pinner.join();
  if (failure) std::rethrow_exception(failure);
  return pinned;
}

void RemovePinnedNamespace(const std::string& path) {
  // Stacked pins (a repeated create) come off one per call; EINVAL means nothing is mounted any more.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (umount2(path.c_str(), MNT_DETACH) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break;
    ThrowErrno("umount2", path);
  }
  if (unlink(path.c_str()) < 0 && errno != ENOENT) ThrowErrno("unlink", path);
}

}  // namespace corral
