#include "cgroups.h"

#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "errors.h"
#include "fd.h"

namespace corral {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// One mounted hierarchy: its root directory, the controllers bound to it, and whether it is cgroup2.
struct Hierarchy {
  std::string root;
  std::vector<std::string> controllers;
  bool unified = false;

  bool Has(const std::string& controller) const {
    for (const std::string& bound : controllers) {
      if (bound == controller || bound == "name=" + controller) return true;
    }
    return false;
  }
};

// Undoes the octal escapes (\040 for space) mountinfo uses in paths.
std::string UnescapeMountPath(const std::string& text) {
  std::string path;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      path += static_cast<char>(std::stoi(text.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      path += text[i];
    }
  }
  return path;
}

// The hierarchies to act on: the single cgroup2 root, or every cgroup mount directly under
// /sys/fs/cgroup (v1 controllers, name=systemd, and the unified dir of a hybrid setup).
std::vector<Hierarchy> ListHierarchies() {
  if (CgroupVersion() == 2) return {Hierarchy{kCgroupRoot, {}, true}};
  std::vector<Hierarchy> hierarchies;
  const std::string prefix = std::string(kCgroupRoot) + "/";
  for (const std::string& line : SplitNonEmpty(ReadTextFile("/proc/self/mountinfo"), '\n')) {
    const std::vector<std::string> fields = SplitNonEmpty(line, ' ');
    size_t separator = 0;
    while (separator < fields.size() && fields[separator] != "-") ++separator;
    if (fields.size() < 5 || separator + 3 >= fields.size()) continue;
    const std::string mount_point = UnescapeMountPath(fields[4]);
    const std::string& fstype = fields[separator + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    if (mount_point.rfind(prefix, 0) != 0 || mount_point.find('/', prefix.size()) != std::string::npos) continue;
    Hierarchy hierarchy{mount_point, SplitNonEmpty(fields[separator + 3], ','), fstype == "cgroup2"};
    // A hierarchy mounted twice on the same point counts once.
    bool seen = false;
    for (const Hierarchy& known : hierarchies) seen = seen || known.root == hierarchy.root;
    if (!seen) hierarchies.push_back(hierarchy);
  }
  return hierarchies;
}

// The hierarchy a controller's files live in; ENOENT when no mounted hierarchy has it.
Hierarchy HierarchyOf(const std::string& controller) {
  for (const Hierarchy& hierarchy : ListHierarchies()) {
    if (hierarchy.unified && CgroupVersion() == 2) return hierarchy;
    if (!hierarchy.unified && hierarchy.Has(controller)) return hierarchy;
  }
  ThrowErrnoValue(ENOENT, "open", std::string(kCgroupRoot) + "/" + controller);
}

// Kernel files end in a newline; values are compared and copied without it.
std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \n\t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \n\t") - begin + 1);
}

// A fresh v1 cpuset has no cpus or mems, and no task can join it until they are set.
void InheritCpuset(const std::string& parent, const std::string& child) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    if (!Trim(ReadTextFile(child + "/" + file)).empty()) continue;
    WriteTextFile(child + "/" + file, Trim(ReadTextFile(parent + "/" + file)));
  }
}

// On cgroup2, a child only gets the controllers its parent enables in cgroup.subtree_control.
void EnableControllersForChildren(const std::string& dir) {
  const std::vector<std::string> available = SplitNonEmpty(Trim(ReadTextFile(dir + "/cgroup.controllers")), ' ');
  for (const char* wanted : {"cpu", "memory", "pids", "io"}) {
    for (const std::string& controller : available) {
      if (controller == wanted) WriteTextFile(dir + "/cgroup.subtree_control", std::string("+") + wanted);
    }
  }
}

// v2 files and pids.max spell "no limit" as "max"; v1 memory and cpu files take -1.
std::string FormatLimit(int64_t value, bool word_for_unlimited) {
  return value < 0 && word_for_unlimited ? "max" : std::to_string(value);
}

// A reservation is a floor, not a ceiling: "none" is v1's unlimited soft limit (-1, its default) but
// v2's memory.low of 0 (its default); "max" there would protect all of the cgroup's memory from reclaim.
std::string FormatReservation(int64_t value, bool v2) {
  return value < 0 && v2 ? "0" : std::to_string(value);
}

// Short sleeps on the worker thread while the kernel catches up (freezing, processes leaving).
void Pause(int milliseconds) { std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds)); }

// Polls a state file until it shows `expected`; gives up quietly, since the kill goes ahead anyway.
void WaitForFileToContain(const std::string& path, const std::string& expected) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (ReadTextFile(path).find(expected) != std::string::npos) return;
    Pause(5);
  }
}

// Freezing first stops a fork bomb from outrunning the kill loop.
void SetFrozen(const std::string& rel_path, bool frozen) {
  if (CgroupVersion() == 2) {
    const std::string dir = std::string(kCgroupRoot) + "/" + rel_path;
    if (!PathExists(dir + "/cgroup.freeze")) return;
    WriteTextFile(dir + "/cgroup.freeze", frozen ? "1" : "0");
    if (frozen) WaitForFileToContain(dir + "/cgroup.events", "frozen 1");
    return;
  }
  for (const Hierarchy& hierarchy : ListHierarchies()) {
    if (!hierarchy.Has("freezer")) continue;
    const std::string state = hierarchy.root + "/" + rel_path + "/freezer.state";
    if (!PathExists(state)) continue;
    WriteTextFile(state, frozen ? "FROZEN" : "THAWED");
    if (frozen) WaitForFileToContain(state, "FROZEN");
  }
}

// Thaws on scope exit, so a failed kill never leaves processes frozen.
class ThawOnExit {
 public:
  explicit ThawOnExit(std::string rel_path) : rel_path_(std::move(rel_path)) {}
  ~ThawOnExit() {
    try {
      SetFrozen(rel_path_, false);
    } catch (...) {
    }
  }

 private:
  std::string rel_path_;
};

// A cgroup that a crash left frozen (a process killed between KillCgroup's freeze and its thaw) would
// freeze every process started in it or below it: `runc create` would hang there for ever.
void ThawIfFrozen(const Hierarchy& hierarchy, const std::string& dir) {
  const bool v2 = hierarchy.unified && CgroupVersion() == 2;
  if (!v2 && !hierarchy.Has("freezer")) return;
  const std::string state = dir + (v2 ? "/cgroup.freeze" : "/freezer.state");
  if (!PathExists(state)) return;
  const std::string thawed = v2 ? "0" : "THAWED";
  if (Trim(ReadTextFile(state)) != thawed) WriteTextFile(state, thawed);
}

// ThawIfFrozen for every descendant of `dir` (not `dir` itself, which ThawOnExit thaws).
void ThawTree(const Hierarchy& hierarchy, const std::string& dir) {
  if (!PathExists(dir)) return;
  for (const std::string& child : ListSubdirectories(dir)) {
    ThawIfFrozen(hierarchy, dir + "/" + child);
    ThawTree(hierarchy, dir + "/" + child);
  }
}

// Every pid in cgroup.procs of `dir` and all its descendants.
void CollectProcesses(const std::string& dir, std::set<pid_t>& pids) {
  if (!PathExists(dir)) return;
  for (const std::string& line : SplitNonEmpty(ReadTextFile(dir + "/cgroup.procs"), '\n')) {
    pids.insert(static_cast<pid_t>(std::stol(line)));
  }
  for (const std::string& child : ListSubdirectories(dir)) CollectProcesses(dir + "/" + child, pids);
}

// rmdir with retries: a killed process can take a moment to leave its cgroup.
void RemoveDirectoryWhenEmpty(const std::string& dir) {
  for (int attempt = 0;; ++attempt) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY || attempt >= 40) ThrowErrno("rmdir", dir);
    Pause(25);
  }
}

// Children first: a cgroup with child cgroups cannot be removed.
void RemoveTree(const std::string& dir) {
  for (const std::string& child : ListSubdirectories(dir)) RemoveTree(dir + "/" + child);
  RemoveDirectoryWhenEmpty(dir);
}

}  // namespace

int CgroupVersion() {
  struct statfs info;
  if (statfs(kCgroupRoot, &info) < 0) ThrowErrno("statfs", kCgroupRoot);
  return info.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}

void CreateCgroup(const std::string& rel_path) {
  for (const Hierarchy& hierarchy : ListHierarchies()) {
    std::string parent = hierarchy.root;
    for (const std::string& level : SplitNonEmpty(rel_path, '/')) {
      if (hierarchy.unified) EnableControllersForChildren(parent);
      const std::string dir = parent + "/" + level;
      MakeDirectory(dir, 0755);
      if (hierarchy.Has("cpuset")) InheritCpuset(parent, dir);
      ThawIfFrozen(hierarchy, dir);
      parent = dir;
    }
  }
}

void SetCgroupLimits(const std::string& rel_path, const CgroupLimits& limits) {
  const bool v2 = CgroupVersion() == 2;
  auto write = [&](const char* controller, const char* file, const std::string& value) {
    WriteTextFile(HierarchyOf(controller).root + "/" + rel_path + "/" + file, value);
  };
  if (limits.memory_bytes) {
    write("memory", v2 ? "memory.max" : "memory.limit_in_bytes", FormatLimit(*limits.memory_bytes, v2));
  }
  if (limits.memory_reservation_bytes) {
    write("memory", v2 ? "memory.low" : "memory.soft_limit_in_bytes", FormatReservation(*limits.memory_reservation_bytes, v2));
  }
  if (v2 && (limits.cpu_quota_us || limits.cpu_period_us)) {
    // cpu.max is "quota period"; keep the current quota when only the period changes.
    std::string quota = limits.cpu_quota_us ? FormatLimit(*limits.cpu_quota_us, true) : "";
    if (!limits.cpu_quota_us) quota = SplitNonEmpty(Trim(ReadCgroupFile("cpu", rel_path, "cpu.max")), ' ').at(0);
    write("cpu", "cpu.max", limits.cpu_period_us ? quota + " " + std::to_string(*limits.cpu_period_us) : quota);
  }
  if (!v2 && limits.cpu_period_us) write("cpu", "cpu.cfs_period_us", std::to_string(*limits.cpu_period_us));
  if (!v2 && limits.cpu_quota_us) write("cpu", "cpu.cfs_quota_us", FormatLimit(*limits.cpu_quota_us, false));
  if (limits.pids_max) write("pids", "pids.max", FormatLimit(*limits.pids_max, true));
}

int KillCgroup(const std::string& rel_path) {
  const std::vector<Hierarchy> hierarchies = ListHierarchies();
  bool exists = false;
  for (const Hierarchy& hierarchy : hierarchies) exists = exists || PathExists(hierarchy.root + "/" + rel_path);
  if (!exists) return 0;

  // cgroup v2 since Linux 5.14: cgroup.kill SIGKILLs the whole subtree in the kernel, atomically, so
  // nothing forked meanwhile escapes and no freeze is needed. The count is of what was there before.
  if (CgroupVersion() == 2) {
    const std::string dir = std::string(kCgroupRoot) + "/" + rel_path;
    if (PathExists(dir + "/cgroup.kill")) {
      std::set<pid_t> pids;
      CollectProcesses(dir, pids);
      WriteTextFile(dir + "/cgroup.kill", "1");
      return static_cast<int>(pids.size());
    }
  }

  SetFrozen(rel_path, true);
  ThawOnExit thaw(rel_path);
  std::set<pid_t> pids;
  for (const Hierarchy& hierarchy : hierarchies) CollectProcesses(hierarchy.root + "/" + rel_path, pids);
  int signalled = 0;
  for (pid_t pid : pids) {
    if (kill(pid, SIGKILL) == 0) ++signalled;
    else if (errno != ESRCH) ThrowErrno("kill", std::to_string(pid));
  }
  // A container paused below (its own freezer.state FROZEN) stays frozen when this cgroup thaws, and
  // a frozen process does not die of SIGKILL until thawed: thaw every one, or its cgroup stays busy.
  for (const Hierarchy& hierarchy : hierarchies) ThawTree(hierarchy, hierarchy.root + "/" + rel_path);
  return signalled;
}

void RemoveCgroup(const std::string& rel_path) {
  for (const Hierarchy& hierarchy : ListHierarchies()) RemoveTree(hierarchy.root + "/" + rel_path);
}

std::string ReadCgroupFile(const std::string& controller, const std::string& rel_path, const std::string& file) {
  return ReadTextFile(HierarchyOf(controller).root + "/" + rel_path + "/" + file);
}

}  // namespace corral
