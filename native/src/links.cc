#include "links.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "errors.h"
#include "fd.h"
#include "netlink.h"

namespace corral {
namespace {

using MacAddress = std::array<unsigned char, 6>;

// A failed request, as the rest of the addon reports a failed syscall: "rtnetlink add veth <where>: <errno text>".
[[noreturn]] void ThrowStep(int errnum, const std::string& step, const std::string& where) {
  ThrowErrnoValue(errnum, "rtnetlink " + step, where);
}

void MustSucceed(int errnum, const std::string& step, const std::string& where) {
  if (errnum != 0) ThrowStep(errnum, step, where);
}

struct in_addr ParseAddress(const std::string& text) {
  struct in_addr address;
  if (inet_pton(AF_INET, text.c_str(), &address) != 1) ThrowErrnoValue(EINVAL, "inet_pton", text);
  return address;
}

MacAddress ParseMac(const std::string& text) {
  MacAddress mac{};
  int consumed = 0;
  const int fields = std::sscanf(text.c_str(), "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5], &consumed);
  if (fields != 6 || static_cast<size_t>(consumed) != text.size()) ThrowErrnoValue(EINVAL, "parse MAC address", text);
  return mac;
}

// A link's fixed header: by index (0: by the IFLA_IFNAME that follows), with `flags` set and changed.
struct ifinfomsg LinkHeader(int index = 0, unsigned flags = 0) {
  struct ifinfomsg header;
  std::memset(&header, 0, sizeof header);
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = index;
  header.ifi_flags = flags;
  header.ifi_change = flags;
  return header;
}

// The index of the link `name` in the socket's namespace, into `index`; returns 0 or the errno (ENODEV: none).
int FindLink(RouteSocket& socket, const std::string& name, int* index) {
  NetlinkMessage request(RTM_GETLINK, 0);
  request.AddHeader(LinkHeader());
  request.AddString(IFLA_IFNAME, name);
  // Only the index is read: the kernel leaves the statistics out of its reply.
  request.AddU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::vector<std::vector<unsigned char>> replies;
  const int errnum = socket.Exchange(request, &replies);
  if (errnum != 0) return errnum;
  for (const auto& reply : replies) {
    const auto* message = reinterpret_cast<const struct nlmsghdr*>(reply.data());
    if (message->nlmsg_type != RTM_NEWLINK || message->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) continue;
    *index = static_cast<const struct ifinfomsg*>(NLMSG_DATA(message))->ifi_index;
    return 0;
  }
  return ENODEV;
}

int DeleteLink(RouteSocket& socket, const std::string& name) {
  NetlinkMessage request(RTM_DELLINK, 0);
  request.AddHeader(LinkHeader());
  request.AddString(IFLA_IFNAME, name);
  return socket.Exchange(request);
}

// One RTM_NEWLINK: the host end enslaved to the bridge, its peer made directly in the pod's namespace
// (the fd of its pin) with the pod's MAC if given. EEXIST when either name is taken.
int AddVeth(RouteSocket& host, const PodLinkRequest& link, int netns_fd, int bridge_index) {
  NetlinkMessage request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  request.AddHeader(LinkHeader());
  request.AddString(IFLA_IFNAME, link.host_end);
  request.AddU32(IFLA_MASTER, static_cast<uint32_t>(bridge_index));
  const size_t info = request.OpenNest(IFLA_LINKINFO);
  request.AddString(IFLA_INFO_KIND, "veth");
  const size_t data = request.OpenNest(IFLA_INFO_DATA);
  const size_t peer = request.OpenNest(VETH_INFO_PEER);
  request.AddHeader(LinkHeader());
  request.AddString(IFLA_IFNAME, link.if_name);
  request.AddU32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  if (!link.mac.empty()) {
    const MacAddress mac = ParseMac(link.mac);
    request.AddAttribute(IFLA_ADDRESS, mac.data(), mac.size());
  }
  request.CloseNest(peer);
  request.CloseNest(data);
  request.CloseNest(info);
  return host.Exchange(request);
}

// Hairpin mode on the bridge port (a pod reaches itself through its own published port), then up.
int SetHairpinAndUp(RouteSocket& host, const std::string& host_end) {
  NetlinkMessage request(RTM_NEWLINK, 0);
  request.AddHeader(LinkHeader(0, IFF_UP));
  request.AddString(IFLA_IFNAME, host_end);
  const size_t info = request.OpenNest(IFLA_LINKINFO);
  request.AddString(IFLA_INFO_SLAVE_KIND, "bridge");
  const size_t data = request.OpenNest(IFLA_INFO_SLAVE_DATA);
  request.AddU8(IFLA_BRPORT_MODE, 1);
  request.CloseNest(data);
  request.CloseNest(info);
  return host.Exchange(request);
}

int AddAddress(RouteSocket& pod, int index, const struct in_addr& address, uint8_t prefix_length) {
  NetlinkMessage request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg header;
  std::memset(&header, 0, sizeof header);
  header.ifa_family = AF_INET;
  header.ifa_prefixlen = prefix_length;
  header.ifa_scope = RT_SCOPE_UNIVERSE;
  header.ifa_index = static_cast<uint32_t>(index);
  request.AddHeader(header);
  request.AddAttribute(IFA_LOCAL, &address, sizeof address);
  request.AddAttribute(IFA_ADDRESS, &address, sizeof address);
  return pod.Exchange(request);
}

int SetUp(RouteSocket& pod, int index) {
  NetlinkMessage request(RTM_NEWLINK, 0);
  request.AddHeader(LinkHeader(index, IFF_UP));
  return pod.Exchange(request);
}

int AddDefaultRoute(RouteSocket& pod, int index, const struct in_addr& gateway) {
  NetlinkMessage request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg header;
  std::memset(&header, 0, sizeof header);
  header.rtm_family = AF_INET;
  header.rtm_dst_len = 0;
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;
  header.rtm_scope = RT_SCOPE_UNIVERSE;
  header.rtm_type = RTN_UNICAST;
  request.AddHeader(header);
  request.AddAttribute(RTA_GATEWAY, &gateway, sizeof gateway);
  request.AddU32(RTA_OIF, static_cast<uint32_t>(index));
  return pod.Exchange(request);
}

// Deletes the veth (both ends go together) unless dismissed, so a link that fails half-way leaves nothing.
class VethRollback {
 public:
  VethRollback(RouteSocket& host, std::string host_end) : host_(host), host_end_(std::move(host_end)) {}
  VethRollback(const VethRollback&) = delete;
  VethRollback& operator=(const VethRollback&) = delete;
  ~VethRollback() {
    if (dismissed_) return;
    try {
      DeleteLink(host_, host_end_);
    } catch (...) {
      // The first failure is the one reported; a socket that fails now cannot undo anything anyway.
    }
  }
  void Dismiss() { dismissed_ = true; }

 private:
  RouteSocket& host_;
  std::string host_end_;
  bool dismissed_ = false;
};

// A pin whose mount is gone is a plain file: nothing to enter, so nothing of the pod is left there.
bool IsNamespaceFile(int fd, const std::string& path) {
  struct statfs filesystem;
  if (fstatfs(fd, &filesystem) < 0) ThrowErrno("fstatfs", path);
  return filesystem.f_type == NSFS_MAGIC;
}

}  // namespace

void LinkPodToBridge(const PodLinkRequest& link) {
  const struct in_addr address = ParseAddress(link.address);
  const struct in_addr gateway = link.gateway.empty() ? in_addr{} : ParseAddress(link.gateway);
  UniqueFd netns = OpenOrThrow(link.netns, O_RDONLY | O_CLOEXEC);
  RouteSocket host = RouteSocket::OpenHere();
  RouteSocket pod = RouteSocket::OpenInNamespace(netns.Get(), link.netns);
  const std::string pod_end = link.if_name + " in " + link.netns;

  int bridge_index = 0;
  MustSucceed(FindLink(host, link.bridge, &bridge_index), "find bridge", link.bridge);
  int made = AddVeth(host, link, netns.Get(), bridge_index);
  if (made == EEXIST) {
    // An interface of that name left in the pod by an interrupted attach: replaced, once.
    const int removed = DeleteLink(pod, link.if_name);
    if (removed != 0 && removed != ENODEV) ThrowStep(removed, "remove leftover", pod_end);
    made = AddVeth(host, link, netns.Get(), bridge_index);
  }
  MustSucceed(made, "add veth", link.host_end + " (peer " + pod_end + ") on bridge " + link.bridge);
  VethRollback rollback(host, link.host_end);
  MustSucceed(SetHairpinAndUp(host, link.host_end), "set hairpin and up", link.host_end + " on bridge " + link.bridge);

  int index = 0;
  MustSucceed(FindLink(pod, link.if_name, &index), "find", pod_end);
  MustSucceed(AddAddress(pod, index, address, link.prefix_length), "add address " + link.address + "/" + std::to_string(link.prefix_length) + " on", pod_end);
  MustSucceed(SetUp(pod, index), "set up", pod_end);
  if (!link.gateway.empty()) MustSucceed(AddDefaultRoute(pod, index, gateway), "add default route via " + link.gateway + " on", pod_end);
  rollback.Dismiss();
}

void UnlinkPodInterface(const std::string& netns_path, const std::string& if_name) {
  const int raw = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0 && errno == ENOENT) return;
  if (raw < 0) ThrowErrno("open", netns_path);
  UniqueFd netns(raw);
  if (!IsNamespaceFile(netns.Get(), netns_path)) return;
  RouteSocket pod = RouteSocket::OpenInNamespace(netns.Get(), netns_path);
  const int removed = DeleteLink(pod, if_name);
  if (removed != 0 && removed != ENODEV) ThrowStep(removed, "remove", if_name + " in " + netns_path);
}

}  // namespace corral
