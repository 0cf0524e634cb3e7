#include "mounts.h"

#include <sys/mount.h>

#include <cerrno>

#include "errors.h"

namespace corral {
namespace {

// The flags of a request, split the way mount(2) wants them: propagation changes cannot be
// combined with a bind or a new mount in one call.
struct MountFlags {
  unsigned long mount = 0;
  unsigned long propagation = 0;
};

struct NamedFlag {
  const char* name;
  unsigned long mount;
  unsigned long propagation;
};

constexpr NamedFlag kNamedFlags[] = {
    {"bind", MS_BIND, 0},          {"rbind", MS_BIND | MS_REC, 0},  {"ro", MS_RDONLY, 0},
    {"nosuid", MS_NOSUID, 0},      {"nodev", MS_NODEV, 0},          {"noexec", MS_NOEXEC, 0},
    {"remount", MS_REMOUNT, 0},    {"private", 0, MS_PRIVATE},      {"rprivate", 0, MS_PRIVATE | MS_REC},
    {"slave", 0, MS_SLAVE},        {"shared", 0, MS_SHARED},
};

// Maps flag names to bits; unknown names fail like the kernel would, with EINVAL.
MountFlags ParseMountFlags(const MountRequest& request) {
  MountFlags flags;
  for (const std::string& name : request.flags) {
    const NamedFlag* match = nullptr;
    for (const NamedFlag& known : kNamedFlags) {
      if (name == known.name) match = &known;
    }
    if (match == nullptr) ThrowErrnoValue(EINVAL, "mount", request.source, request.target);
    flags.mount |= match->mount;
    flags.propagation |= match->propagation;
  }
  return flags;
}

// mount(2) takes NULL, not "", for an absent source, fstype or data.
const char* NullIfEmpty(const std::string& text) { return text.empty() ? nullptr : text.c_str(); }

// Only propagation flags and nothing else to mount: a pure "mount --make-*".
bool ChangesPropagationOnly(const MountRequest& request, const MountFlags& flags) {
  return flags.propagation != 0 && flags.mount == 0 && request.fstype.empty() && request.data.empty();
}

}  // namespace

void Mount(const MountRequest& request) {
  const MountFlags flags = ParseMountFlags(request);
  const char* target = request.target.c_str();

  if (!ChangesPropagationOnly(request, flags)) {
    // The kernel ignores MS_RDONLY on a fresh bind; read-only takes a remount of the bind.
    const bool read_only_bind = (flags.mount & (MS_BIND | MS_RDONLY | MS_REMOUNT)) == (MS_BIND | MS_RDONLY);
    const unsigned long first = read_only_bind ? flags.mount & ~MS_RDONLY : flags.mount;
    if (mount(NullIfEmpty(request.source), target, NullIfEmpty(request.fstype), first, NullIfEmpty(request.data)) < 0) {
      ThrowErrno("mount", request.source, request.target);
    }
    if (read_only_bind) {
      const unsigned long remount = MS_REMOUNT | MS_BIND | MS_RDONLY | (flags.mount & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
      if (mount(nullptr, target, nullptr, remount, nullptr) < 0) {
        const int saved = errno;
        umount2(target, MNT_DETACH);
        ThrowErrnoValue(saved, "mount", request.source, request.target);
      }
    }
  }
  if (flags.propagation != 0 && mount(nullptr, target, nullptr, flags.propagation, nullptr) < 0) {
    ThrowErrno("mount", request.source, request.target);
  }
}

void Unmount(const std::string& target, bool detach) {
  if (umount2(target.c_str(), detach ? MNT_DETACH : 0) == 0) return;
  if (errno == EINVAL || errno == ENOENT) return;
  ThrowErrno("umount2", target);
}

}  // namespace corral
