#include "sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "errors.h"
#include "fd.h"

namespace corral {
namespace {

// Health probes must see the pod's own 127.0.0.1, not the host's: the socket is created by a thread
// that entered the pod's network namespace and exits right after, so no thread of Node stays there.
UniqueFd ConnectOnThisThread(const std::string& netns_path, const std::string& address, int port, int timeout_ms) {
  UniqueFd netns = OpenOrThrow(netns_path, O_RDONLY | O_CLOEXEC);
  if (setns(netns.Get(), CLONE_NEWNET) < 0) ThrowErrno("setns", netns_path);

  struct sockaddr_in target;
  std::memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &target.sin_addr) != 1) ThrowErrnoValue(EINVAL, "inet_pton", address);

  UniqueFd sock(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (sock.Get() < 0) ThrowErrno("socket", address);
  const std::string where = address + ":" + std::to_string(port);
  if (connect(sock.Get(), reinterpret_cast<struct sockaddr*>(&target), sizeof target) < 0) {
    if (errno != EINPROGRESS) ThrowErrno("connect", where);
    struct pollfd waiting = {sock.Get(), POLLOUT, 0};
    int ready = poll(&waiting, 1, timeout_ms);
    if (ready < 0) ThrowErrno("poll", where);
    if (ready == 0) ThrowErrnoValue(ETIMEDOUT, "connect", where);
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(sock.Get(), SOL_SOCKET, SO_ERROR, &error, &length) < 0) ThrowErrno("getsockopt", where);
    if (error != 0) ThrowErrnoValue(error, "connect", where);
  }
  return sock;
}

}  // namespace

int ConnectInNetworkNamespace(const std::string& netns_path, const std::string& address, int port, int timeout_ms) {
  UniqueFd connected;
  std::exception_ptr failure;
  std::thread prober([&] {
    try {
      connected = ConnectOnThisThread(netns_path, address, port, timeout_ms);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  prober.join();
  if (failure) std::rethrow_exception(failure);
  return connected.Release();
}

int ConnectSequencedPacket(const std::string& dir, const std::string& name) {
  UniqueFd parent = OpenOrThrow(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un target;
  std::memset(&target, 0, sizeof target);
  target.sun_family = AF_UNIX;
  const std::string path = "/proc/self/fd/" + std::to_string(parent.Get()) + "/" + name;
  if (path.size() >= sizeof target.sun_path) ThrowErrnoValue(ENAMETOOLONG, "connect", dir + "/" + name);
  std::memcpy(target.sun_path, path.c_str(), path.size() + 1);
  UniqueFd sock(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (sock.Get() < 0) ThrowErrno("socket", dir + "/" + name);
  if (connect(sock.Get(), reinterpret_cast<struct sockaddr*>(&target), sizeof target) < 0) ThrowErrno("connect", dir + "/" + name);
  return sock.Release();
}

void ShutdownSocket(int fd, const std::string& how) {
  const int direction = how == "read" ? SHUT_RD : how == "write" ? SHUT_WR : SHUT_RDWR;
  if (shutdown(fd, direction) < 0) ThrowErrno("shutdown", "fd " + std::to_string(fd));
}

}  // namespace corral
