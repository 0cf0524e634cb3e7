#!/usr/bin/env bash
# Boots the test guest (build-image.sh; built first when missing) headless under QEMU's TCG emulation,
# runs the job's command in it as root at boot, collects its output and exit code, and powers it off.
# A job dir holds `command-1` (a bash script; run with /checkout as working dir) and optionally
# `command-2`, ...: the guest reboots between phases, so a later phase sees the first one's disk
# state after a real reboot. The job dir is shared with the guest over 9p (at /job); --disk adds a
# second virtio disk (a raw ext4 image, pack-checkout.sh makes one) mounted at /checkout.
# The disks are opened with snapshot=on: runs never change them. Network: none by default; with
# `--net restricted` a user-mode device with restrict=on (routes nothing out of the guest).
# Every wait is bounded: the boot to each phase, each phase, the power-off, and a hard limit for the
# whole run, after which qemu is killed; nothing is left running.
# After the run: stdout-N, stderr-N, exit-N per phase, console.log (the serial console), timings.
# Exit code: the last phase's when every phase reported one; 125 when the guest failed to (why on stderr).
# usage: run.sh --job DIR [--disk IMG] [--net none|restricted] [--timeout SECONDS] [--boot-timeout SECONDS]
#               [--memory MIB] [--cpus N]
set -euo pipefail
# One compound command: bash reads it whole before running it, so an edit of this file while it runs
# (a build takes minutes) cannot change what the running copy does.
{
here=$(cd "$(dirname "$0")" && pwd)

job='' disk='' net=none phase_timeout=900 boot_timeout=480 memory=2048 cpus=2
# Seconds the guest gets to power off after its last phase, and to exit after SIGTERM.
POWEROFF_SECONDS=60
TERM_SECONDS=5
while [ $# -gt 0 ]; do
  case $1 in
    --job) job=$2; shift 2 ;;
    --disk) disk=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    --timeout) phase_timeout=$2; shift 2 ;;
    --boot-timeout) boot_timeout=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    *) echo "run.sh: unknown argument '$1' (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$job" ] && [ -f "$job/command-1" ] || { echo "run.sh: --job DIR must name a dir with command-1 in it" >&2; exit 2; }
job=$(cd "$job" && pwd)
[ -z "$disk" ] || [ -f "$disk" ] || { echo "run.sh: the disk $disk does not exist" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run.sh: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }

# CORRAL_GUEST_IMAGE: an image dir to boot instead of this recipe's (one built before, to compare).
image=${CORRAL_GUEST_IMAGE:-$(bash "$here/build-image.sh")}
phases=1
while [ -f "$job/command-$((phases + 1))" ]; do phases=$((phases + 1)); done
rm -f "$job"/{started,stdout,stderr,exit}-* "$job"/.exit-* "$job/console.log" "$job/timings"
# The guest bounds each phase a little below the host's limit, so a hung command still reports.
echo $(( phase_timeout > 30 ? phase_timeout - 15 : phase_timeout )) > "$job/timeout"
hard_limit=$(( phases * (boot_timeout + phase_timeout) + POWEROFF_SECONDS ))

case $net in
  # Without a device systemd-networkd has nothing to do, and it is slow to start under emulation.
  none) network=(-nic none) boot_options='systemd.mask=systemd-networkd.service systemd.mask=systemd-networkd.socket' ;;
  restricted) network=(-netdev user,id=net0,restrict=on -device virtio-net-pci,netdev=net0) boot_options='' ;;
  *) echo "run.sh: --net is none or restricted, not '$net'" >&2; exit 2 ;;
esac
disks=(-drive "file=$image/disk.img,if=virtio,format=raw,snapshot=on")
[ -z "$disk" ] || disks+=(-drive "file=$disk,if=virtio,format=raw,snapshot=on")

# KVM where the machine has it and it starts this CPU model; QEMU's TCG emulation otherwise. A VM
# with a writable /dev/kvm (nested) may still refuse `-cpu max`: "failed to set MSR 0x10a", an abort
# at the first instant, seen on one of these machines. The probe starts the model stopped (-S) and
# quits at once; `-accel kvm -accel tcg` alone would fall back only when KVM cannot open at all.
accel=(-accel tcg)
if [ -w /dev/kvm ] && echo quit | timeout 20 qemu-system-x86_64 -nodefaults -no-user-config -machine pc -accel kvm -cpu max -m 64 \
  -display none -monitor stdio -S >/dev/null 2>&1; then
  accel=(-accel kvm -accel tcg)
fi
# mitigations=off: the guest runs our own tests only, and the mitigations cost much under emulation.
# no_timer_check: the kernel's early check of the timer interrupt can time out under emulation on a
# loaded host, and then panics ("IO-APIC + timer doesn't work!"; seen once with the load at 19).
nice -n 10 qemu-system-x86_64 -nodefaults -no-user-config -machine pc "${accel[@]}" -cpu max -smp "$cpus" -m "$memory" \
  -display none -monitor none -serial "file:$job/console.log" \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 loglevel=4 mitigations=off no_timer_check $boot_options" \
  "${disks[@]}" -virtfs "local,path=$job,mount_tag=job,security_model=none,id=job" "${network[@]}" &
qemu=$!
stop_qemu() {
  kill -0 "$qemu" 2>/dev/null || return 0
  kill -TERM "$qemu" 2>/dev/null || true
  for _ in $(seq $((TERM_SECONDS * 10))); do kill -0 "$qemu" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$qemu" 2>/dev/null || true
}
trap stop_qemu EXIT
trap 'stop_qemu; exit 130' INT TERM

launched=$(date +%s)
phase=1 waiting_since=$launched failure='' seen_start=0 phase_started=0
while kill -0 "$qemu" 2>/dev/null; do
  now=$(date +%s)
  if [ $phase -le "$phases" ] && [ -e "$job/exit-$phase" ]; then
    echo "phase $phase: exit $(cat "$job/exit-$phase") $(( now - waiting_since ))s after the boot began" >> "$job/timings"
    phase=$((phase + 1)) waiting_since=$now
  elif [ $phase -le "$phases" ] && [ "$seen_start" != $phase ] && [ -e "$job/started-$phase" ]; then
    echo "phase $phase: started $(( now - waiting_since ))s after the boot began" >> "$job/timings"
    seen_start=$phase phase_started=$now
  elif [ $phase -le "$phases" ] && [ ! -e "$job/started-$phase" ] && [ $(( now - waiting_since )) -gt "$boot_timeout" ]; then
    failure="the guest did not start phase $phase within ${boot_timeout}s of booting"; break
  elif [ $phase -le "$phases" ] && [ "$seen_start" = $phase ] && [ $(( now - phase_started )) -gt "$phase_timeout" ]; then
    failure="phase $phase did not end within ${phase_timeout}s"; break
  elif [ $phase -gt "$phases" ] && [ $(( now - waiting_since )) -gt $POWEROFF_SECONDS ]; then
    echo "the guest did not power off within ${POWEROFF_SECONDS}s of its last phase: killed" >> "$job/timings"; break
  fi
  if [ $(( now - launched )) -gt "$hard_limit" ]; then failure="the run passed its hard limit of ${hard_limit}s"; break; fi
  sleep 1
done
stop_qemu
wait "$qemu" 2>/dev/null || true
echo "whole run: $(( $(date +%s) - launched ))s" >> "$job/timings"
for n in $(seq "$phases"); do
  [ -e "$job/exit-$n" ] || { failure=${failure:-"the guest powered off before phase $n reported an exit code"}; break; }
done
if [ -n "$failure" ]; then
  echo "run.sh: $failure; the end of the serial console ($job/console.log):" >&2
  tail -25 "$job/console.log" >&2 || true
  exit 125
fi
exit "$(cat "$job/exit-$phases")"
exit
}
