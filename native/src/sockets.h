#pragma once

#include <string>

namespace corral {

// A TCP connection made from inside the network namespace at `netns_path` (e.g. /proc/PID/ns/net) to
// `address:port`, within `timeout_ms`. Returns the connected socket's descriptor (close-on-exec,
// non-blocking); the socket stays in that namespace while this process's threads stay in their own.
int ConnectInNetworkNamespace(const std::string& netns_path, const std::string& address, int port, int timeout_ms);

}  // namespace corral
