#pragma once

#include <cstdint>
#include <string>

namespace corral {

// A pod's link to a bridge: a veth pair, one end on the bridge in Corral's namespace, the other in the pod's.
struct PodLinkRequest {
  // The pod's pinned network namespace (a bind mount of /proc/<tid>/ns/net).
  std::string netns;
  // The interface in the pod (eth0, eth1, or the file's interface_name).
  std::string if_name;
  // The end on the bridge, in Corral's namespace.
  std::string host_end;
  std::string bridge;
  // The pod's IPv4 address and the subnet's prefix length.
  std::string address;
  uint8_t prefix_length = 0;
  // The default route's gateway; empty when this network gives the pod no default route.
  std::string gateway;
  // The pod end's MAC address ("02:00:..."); empty for the kernel's random one.
  std::string mac;
};

// Makes the pair by rtnetlink, no process: the veth with its peer created directly in the pod's
// namespace, the host end enslaved to the bridge in hairpin mode and up; then, through a netlink socket
// opened in the pod's namespace, the pod end's address, up, and its default route. An interface of that
// name left in the pod (an interrupted attach) is replaced. On failure removes what it made and throws.
void LinkPodToBridge(const PodLinkRequest& request);

// Removes the pod's interface (and with it the peer on the bridge). A missing interface, namespace file
// or namespace (its pin unmounted) is no error.
void UnlinkPodInterface(const std::string& netns, const std::string& if_name);

}  // namespace corral
