#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace corral {

// 2 when /sys/fs/cgroup itself is a cgroup2 mount, 1 otherwise (legacy or hybrid).
int CgroupVersion();

// mkdir -p of relPath in every hierarchy, with cpuset and subtree_control prepared on the way and
// every level thawed (a crash during KillCgroup can leave one frozen).
void CreateCgroup(const std::string& rel_path);

// Optional limits; -1 means "no limit" ("max" where the kernel wants a word), and for the memory
// reservation "no reservation" (v1's -1, v2's memory.low of 0).
struct CgroupLimits {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> memory_reservation_bytes;
  std::optional<int64_t> cpu_quota_us;
  std::optional<int64_t> cpu_period_us;
  std::optional<int64_t> pids_max;
};

void SetCgroupLimits(const std::string& rel_path, const CgroupLimits& limits);

// Freeze, SIGKILL everything in the cgroup and below, thaw; returns how many processes were signalled.
int KillCgroup(const std::string& rel_path);

// rmdir depth-first in every hierarchy, waiting a little for dying processes to leave.
void RemoveCgroup(const std::string& rel_path);

// Reads one file of the cgroup in the hierarchy of `controller` (any hierarchy on v2).
std::string ReadCgroupFile(const std::string& controller, const std::string& rel_path, const std::string& file);

}  // namespace corral
