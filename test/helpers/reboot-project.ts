// The project of the reboot suites (test/converge/boot.test.ts on this host, test/hosts/reboot.test.ts
// in the guest): one pod per restart policy. keep/app (always) writes a marker into the named volume at
// its first start and exits 3 once, so it has been restarted once when the host goes down;
// paused/app (unless-stopped) is stopped by the suites with `corral stop`.

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

/** The file with the marker it writes: its content is the same after a reboot, or the volume was lost. */
export const MARKER_FILE = '/data/first-start';

const FIRST_START = `if [ ! -e ${MARKER_FILE} ]; then cat /proc/sys/kernel/random/uuid > ${MARKER_FILE}; exit 3; fi; ${LOOP}`;

/** pod → restart policy; every pod has one container, `app`. */
export const POLICIES = { keep: 'always', cache: 'unless-stopped', paused: 'unless-stopped', job: 'no', retry: 'on-failure' } as const;

/** What the suites stop before the reboot. */
export const STOPPED = 'paused/app';
/** What comes back at boot; the rest stays down. */
export const BROUGHT_BACK = ['cache/app', 'keep/app'];
export const LEFT_DOWN = ['job/app', 'paused/app', 'retry/app'];

/** Restart backoff for the suites (CORRAL_RESTART_BACKOFF): keep/app's one restart comes quickly. */
export const QUICK_BACKOFF = '200,1000';

export function rebootProjectFile(rootfs: string): string {
  const pods = Object.entries(POLICIES).map(([pod, restart]) => [
    `  ${pod}:`,
    '    network: none',
    '    containers:',
    '      app:',
    `        rootfs: ${rootfs}`,
    `        restart: ${restart}`,
    ...(pod === 'keep' ? ['        volumes: ["data:/data"]'] : []),
    `        command: ["sh", "-c", ${JSON.stringify(pod === 'keep' ? FIRST_START : LOOP)}]`,
  ].join('\n'));
  return ['volumes:', '  data:', 'pods:', ...pods, ''].join('\n');
}
