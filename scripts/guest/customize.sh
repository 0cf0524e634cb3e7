#!/usr/bin/env bash
# mmdebstrap customize hook for build-image.sh: $1 is the guest's root. Makes the tree boot headless
# from a raw ext4 disk straight into the job unit: fstab, hostname, a machine id (an empty one would
# start systemd-firstboot, which asks on the console), no units that only slow a boot under
# emulation, and the user-mode network's address for when run.sh gives one.
set -euo pipefail
target=$1
chmod 0755 "$target/usr/local/bin/node" "$target/usr/local/sbin/corral-job"
echo '/dev/vda / ext4 rw,relatime 0 1' > "$target/etc/fstab"
echo corral-guest > "$target/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 corral-guest\n::1 localhost ip6-localhost ip6-loopback\n' > "$target/etc/hosts"
chroot "$target" systemd-machine-id-setup
chroot "$target" systemctl enable corral-job.service
chroot "$target" systemctl mask systemd-firstboot.service getty@tty1.service serial-getty@ttyS0.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-networkd-wait-online.service
# qemu's user-mode network (restrict=on, routes nothing out) gives 10.0.2.15/24 with 10.0.2.2 as
# gateway: set statically, no DHCP wait. Only used when run.sh adds the device.
mkdir -p "$target/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n' > "$target/etc/systemd/network/10-qemu-user.network"
chroot "$target" systemctl enable systemd-networkd.service
