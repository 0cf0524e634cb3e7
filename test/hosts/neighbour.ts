import { execa } from 'execa';

// Another machine on the host's network, as far as the host's firewall can tell: a network namespace
// of the test's own, joined to the host by a veth pair on a /30 of TEST-NET-2 (RFC 5737, never
// routed), whose only route leads to the host's own address. Its packets to a published port arrive
// from outside, are DNATed to a pod and so cross FORWARD (the path a pod's own traffic or the host's
// never takes), and they can go nowhere but the host.

/** How long one request from the neighbour may take. */
const REQUEST_TIMEOUT_S = 3;

export interface Neighbour {
  /** The neighbour's address, as the host sees it. */
  readonly address: string;
  /** GETs `url` from inside the neighbour with busybox wget, bounded; the page, or undefined when it got none. */
  get(url: string): Promise<string | undefined>;
  /** Removes the namespace and the veth pair; safe to repeat. */
  remove(): Promise<void>;
}

/** A /30 of 198.51.100.0/24 per process, so that two suites running at once do not collide. */
function addressesFor(pid: number): { host: string; neighbour: string } {
  const base = (pid % 64) * 4;
  return { host: `198.51.100.${base + 1}`, neighbour: `198.51.100.${base + 2}` };
}

/** Makes a neighbour whose only route is to `hostAddress` (the host's own address). */
export async function addNeighbour(hostAddress: string): Promise<Neighbour> {
  const name = `corral-neighbour-${process.pid}`;
  const hostSide = `cnb${process.pid}h`.slice(0, 15);
  const neighbourSide = `cnb${process.pid}n`.slice(0, 15);
  const { host, neighbour } = addressesFor(process.pid);
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    // The veth pair goes with the namespace; a setup that failed half-way may have made only part of it.
    await execa('ip', ['netns', 'del', name], { reject: false });
    await execa('ip', ['link', 'del', hostSide], { reject: false });
  };
  try {
    await execa('ip', ['netns', 'add', name]);
    await execa('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', neighbourSide, 'netns', name]);
    await execa('ip', ['addr', 'add', `${host}/30`, 'dev', hostSide]);
    await execa('ip', ['link', 'set', hostSide, 'up']);
    await execa('ip', ['-n', name, 'addr', 'add', `${neighbour}/30`, 'dev', neighbourSide]);
    await execa('ip', ['-n', name, 'link', 'set', neighbourSide, 'up']);
    await execa('ip', ['-n', name, 'route', 'add', `${hostAddress}/32`, 'via', host]);
  } catch (error) {
    await remove();
    throw new Error(`could not make the test's neighbour namespace ${name}: ${(error as Error).message}`, { cause: error });
  }
  return {
    address: neighbour,
    async get(url) {
      const result = await execa('ip', ['netns', 'exec', name, 'timeout', String(REQUEST_TIMEOUT_S), 'busybox', 'wget', '-q', '-O-', url], { reject: false, timeout: (REQUEST_TIMEOUT_S + 2) * 1000 });
      return result.exitCode === 0 ? String(result.stdout) : undefined;
    },
    remove,
  };
}
