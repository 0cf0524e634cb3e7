#pragma once

#include <string>
#include <vector>

namespace corral {

// One mount(2) request as the TS wrapper hands it over; flags are names like "bind" or "rprivate".
struct MountRequest {
  std::string source;
  std::string target;
  std::string fstype;
  std::vector<std::string> flags;
  std::string data;
};

// mount(2), split into the calls the kernel needs: the mount itself, a remount for a read-only
// bind, and a separate propagation change.
void Mount(const MountRequest& request);

// umount2(2); a target that is missing or not mounted is already unmounted.
void Unmount(const std::string& target, bool detach);

}  // namespace corral
