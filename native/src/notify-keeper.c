// corral-notify-keeper SOCKET_DIR READY_FILE PID
//
// Holds a container's sd_notify socket for as long as the container's process PID lives, so that a
// READY=1 it sends is never lost, whichever Corral process (an `up`, a supervisor, none) runs at
// that moment. It binds SOCKET_DIR/notify.sock (a datagram socket, bind-mounted into the container
// at /run/notify), writes "READY_FILE" atomically with PID when READY=1 arrives (and again on each
// WATCHDOG=1 after it, so that its mtime is the last ping), and exits when PID
// does (a pidfd). READY_FILE lies outside SOCKET_DIR: the container can write into the directory it
// sees, and must never make us follow a link of its making.
//
// Once bound it prints "bound\n" on stdout and closes it: the spawner waits for that line before it
// starts the container. Every failure exits non-zero with one line on stderr naming the syscall.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void die(const char *what, const char *where) {
  fprintf(stderr, "corral-notify-keeper: %s %s: %s\n", what, where, strerror(errno));
  exit(1);
}

// Writes PID into READY_FILE through a temporary file and rename(2): a reader sees all or nothing.
static void record_ready(const char *ready_file, const char *pid) {
  char temporary[4096];
  if (snprintf(temporary, sizeof temporary, "%s.tmp", ready_file) >= (int)sizeof temporary) {
    errno = ENAMETOOLONG;
    die("snprintf", ready_file);
  }
  int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die("open", temporary);
  char line[64];
  int length = snprintf(line, sizeof line, "%s\n", pid);
  if (write(fd, line, (size_t)length) != length) die("write", temporary);
  if (close(fd) < 0) die("close", temporary);
  if (rename(temporary, ready_file) < 0) die("rename", ready_file);
}

enum said { SAID_NOTHING, SAID_WATCHDOG, SAID_READY };

// What one datagram (lines of KEY=VALUE) says: READY=1, WATCHDOG=1 (a watchdog's ping), or neither.
static enum said what_it_says(char *message) {
  enum said said = SAID_NOTHING;
  for (char *line = strtok(message, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (strcmp(line, "READY=1") == 0) return SAID_READY;
    if (strcmp(line, "WATCHDOG=1") == 0) said = SAID_WATCHDOG;
  }
  return said;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: corral-notify-keeper SOCKET_DIR READY_FILE PID\n");
    return 2;
  }
  const char *socket_dir = argv[1], *ready_file = argv[2], *pid_text = argv[3];
  pid_t pid = (pid_t)strtol(pid_text, NULL, 10);
  if (pid <= 0) {
    fprintf(stderr, "corral-notify-keeper: %s is not a pid\n", pid_text);
    return 2;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  // Gone already: nothing to wait for, and no one to hear.
  if (pidfd < 0 && errno == ESRCH) return 0;
  if (pidfd < 0) die("pidfd_open", pid_text);

  // The socket's path through /proc/self/fd, so a long state dir still fits in sun_path.
  int dir = open(socket_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) die("open", socket_dir);
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/notify.sock", dir);
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) die("socket", socket_dir);
  if (unlinkat(dir, "notify.sock", 0) < 0 && errno != ENOENT) die("unlink", socket_dir);
  if (bind(sock, (struct sockaddr *)&address, sizeof address) < 0) die("bind", socket_dir);
  // Any user of the container (and of its user namespace) may send; only sending is possible.
  if (fchmodat(dir, "notify.sock", 0777, 0) < 0) die("chmod", socket_dir);
  if (write(STDOUT_FILENO, "bound\n", 6) != 6) die("write", "stdout");
  close(STDOUT_FILENO);

  char message[4097];
  int ready = 0;
  for (;;) {
    struct pollfd waiting[2] = {{sock, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (poll(waiting, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll", socket_dir);
    }
    if (waiting[1].revents) return 0;
    ssize_t received = recv(sock, message, sizeof message - 1, MSG_DONTWAIT);
    if (received < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("recv", socket_dir);
    }
    message[received] = '\0';
    // Each READY=1, and each WATCHDOG=1 once ready, writes the record anew: its mtime is the last
    // ping, which a healthcheck with a watchdog compares with WATCHDOG_USEC.
    enum said said = what_it_says(message);
    if (said == SAID_READY || (said == SAID_WATCHDOG && ready)) {
      record_ready(ready_file, pid_text);
      ready = 1;
    }
  }
}
