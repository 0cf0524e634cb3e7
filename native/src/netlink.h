#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fd.h"

namespace corral {

// One rtnetlink request as bytes: the netlink header, the family's fixed header (ifinfomsg, ifaddrmsg,
// rtmsg), then attributes, some nested. Everything is appended 4-byte aligned, as the kernel reads it.
class NetlinkMessage {
 public:
  NetlinkMessage(uint16_t type, uint16_t flags);

  // A fixed header, at the start of the message or at the start of a nest (a veth's peer).
  template <typename Header>
  void AddHeader(const Header& header) {
    Append(&header, sizeof header);
  }
  void AddAttribute(uint16_t type, const void* data, size_t length);
  // With its terminating NUL, as the kernel's string attributes want.
  void AddString(uint16_t type, const std::string& value);
  void AddU32(uint16_t type, uint32_t value) { AddAttribute(type, &value, sizeof value); }
  void AddU8(uint16_t type, uint8_t value) { AddAttribute(type, &value, sizeof value); }

  // Opens a nested attribute; the attributes added until CloseNest(offset) go inside it.
  size_t OpenNest(uint16_t type);
  void CloseNest(size_t offset);

  // The bytes to send, with the length and sequence number filled in.
  const std::vector<unsigned char>& Finish(uint32_t sequence);

 private:
  void Append(const void* data, size_t length);

  std::vector<unsigned char> bytes_;
};

// A NETLINK_ROUTE socket, bound for good to the network namespace of the thread that opened it.
class RouteSocket {
 public:
  // A socket in the calling thread's network namespace (Corral's own, on a pool thread).
  static RouteSocket OpenHere();
  // A socket in the namespace `netns_fd` (opened from `netns_path`), made by a short-lived thread that
  // enters it: a netlink socket keeps the namespace it was made in, the calling thread never moves.
  static RouteSocket OpenInNamespace(int netns_fd, const std::string& netns_path);

  // Sends the request with NLM_F_ACK and reads up to its acknowledgement. Returns 0, or the errno the
  // kernel answered with; the other messages answering it (a GET's reply) are appended to `replies`.
  // Only a failure of the socket itself (send, receive) throws.
  int Exchange(NetlinkMessage& request, std::vector<std::vector<unsigned char>>* replies = nullptr);

 private:
  explicit RouteSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  uint32_t sequence_ = 0;
};

}  // namespace corral
