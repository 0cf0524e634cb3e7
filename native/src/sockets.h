#pragma once

#include <string>

namespace corral {

// A TCP connection made from inside the network namespace at `netns_path` (e.g. /proc/PID/ns/net) to
// `address:port`, within `timeout_ms`. Returns the connected socket's descriptor (close-on-exec,
// non-blocking); the socket stays in that namespace while this process's threads stay in their own.
int ConnectInNetworkNamespace(const std::string& netns_path, const std::string& address, int port, int timeout_ms);

// A SOCK_SEQPACKET connection to the unix socket `name` in directory `dir` (conmon's attach socket).
// The path goes through /proc/self/fd/N of the opened directory, so a directory path longer than a
// sockaddr_un holds still works, as conmon binds it. The descriptor is blocking and close-on-exec.
int ConnectSequencedPacket(const std::string& dir, const std::string& name);

// shutdown(2) of one direction ("read", "write" or "both"): conmon closes the container's stdin when
// its attach client stops writing.
void ShutdownSocket(int fd, const std::string& how);

}  // namespace corral
