#include "netlink.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "errors.h"

namespace corral {
namespace {

constexpr size_t kAlignment = 4;
// Enough for any answer to one request here: an ACK, or one link's description (a GET).
constexpr size_t kReceiveBuffer = 32 * 1024;

size_t Aligned(size_t length) { return (length + kAlignment - 1) & ~(kAlignment - 1); }

UniqueFd OpenRouteSocketOnThisThread() {
  UniqueFd sock(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (sock.Get() < 0) ThrowErrno("socket", "NETLINK_ROUTE");
  // An error's ACK then carries the failed request's header only, not the whole request back.
  const int on = 1;
  setsockopt(sock.Get(), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  return sock;
}

}  // namespace

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags) {
  struct nlmsghdr header;
  std::memset(&header, 0, sizeof header);
  header.nlmsg_type = type;
  header.nlmsg_flags = flags | NLM_F_REQUEST | NLM_F_ACK;
  Append(&header, sizeof header);
}

void NetlinkMessage::Append(const void* data, size_t length) {
  const size_t start = bytes_.size();
  bytes_.resize(start + Aligned(length), 0);
  std::memcpy(bytes_.data() + start, data, length);
}

void NetlinkMessage::AddAttribute(uint16_t type, const void* data, size_t length) {
  struct nlattr attribute;
  attribute.nla_type = type;
  attribute.nla_len = static_cast<uint16_t>(NLA_HDRLEN + length);
  Append(&attribute, sizeof attribute);
  if (length > 0) Append(data, length);
}

void NetlinkMessage::AddString(uint16_t type, const std::string& value) { AddAttribute(type, value.c_str(), value.size() + 1); }

size_t NetlinkMessage::OpenNest(uint16_t type) {
  const size_t offset = bytes_.size();
  AddAttribute(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
  return offset;
}

void NetlinkMessage::CloseNest(size_t offset) {
  struct nlattr attribute;
  std::memcpy(&attribute, bytes_.data() + offset, sizeof attribute);
  attribute.nla_len = static_cast<uint16_t>(bytes_.size() - offset);
  std::memcpy(bytes_.data() + offset, &attribute, sizeof attribute);
}

const std::vector<unsigned char>& NetlinkMessage::Finish(uint32_t sequence) {
  struct nlmsghdr header;
  std::memcpy(&header, bytes_.data(), sizeof header);
  header.nlmsg_len = static_cast<uint32_t>(bytes_.size());
  header.nlmsg_seq = sequence;
  std::memcpy(bytes_.data(), &header, sizeof header);
  return bytes_;
}

RouteSocket RouteSocket::OpenHere() { return RouteSocket(OpenRouteSocketOnThisThread()); }

RouteSocket RouteSocket::OpenInNamespace(int netns_fd, const std::string& netns_path) {
  UniqueFd opened;
  std::exception_ptr failure;
  // setns moves this thread only; it exits right after, so no thread of Node stays in the pod.
  std::thread opener([&] {
    try {
      if (setns(netns_fd, CLONE_NEWNET) < 0) ThrowErrno("setns", netns_path);
      opened = OpenRouteSocketOnThisThread();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  opener.join();
  if (failure) std::rethrow_exception(failure);
  return RouteSocket(std::move(opened));
}

int RouteSocket::Exchange(NetlinkMessage& request, std::vector<std::vector<unsigned char>>* replies) {
  const uint32_t sequence = ++sequence_;
  const std::vector<unsigned char>& bytes = request.Finish(sequence);
  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  while (sendto(fd_.Get(), bytes.data(), bytes.size(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) < 0) {
    if (errno != EINTR) ThrowErrno("sendto", "NETLINK_ROUTE");
  }

  std::vector<unsigned char> buffer(kReceiveBuffer);
  for (;;) {
    ssize_t received = recv(fd_.Get(), buffer.data(), buffer.size(), 0);
    if (received < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("recv", "NETLINK_ROUTE");
    }
    int left = static_cast<int>(received);
    for (auto* message = reinterpret_cast<struct nlmsghdr*>(buffer.data()); NLMSG_OK(message, left); message = NLMSG_NEXT(message, left)) {
      // Answers to an earlier request (none are expected: every request waits for its own) are skipped.
      if (message->nlmsg_seq != sequence) continue;
      if (message->nlmsg_type == NLMSG_ERROR) {
        if (message->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) ThrowErrnoValue(EBADMSG, "recv", "NETLINK_ROUTE");
        const auto* answer = static_cast<const struct nlmsgerr*>(NLMSG_DATA(message));
        return -answer->error;
      }
      if (replies != nullptr) {
        const auto* start = reinterpret_cast<const unsigned char*>(message);
        replies->emplace_back(start, start + message->nlmsg_len);
      }
    }
  }
}

}  // namespace corral
