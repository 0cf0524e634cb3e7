#pragma once

#include <string>

namespace corral {

// Opens (creating, 0600) `path` close-on-exec and takes an exclusive flock, waiting for any other
// holder; returns the descriptor, which holds the lock until closed. Close-on-exec matters: a conmon
// started while the lock is held must not inherit it and keep the project locked forever.
int LockFileExclusive(const std::string& path);

// Closes the descriptor, which releases the lock.
void UnlockFile(int fd);

// Whether another process holds an exclusive flock on `path` now (false when there is no file); never
// waits. Tells a live but busy lock holder from a dead one without asking it anything.
bool IsLockHeld(const std::string& path);

}  // namespace corral
