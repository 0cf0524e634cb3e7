import { isIP } from 'node:net';

// compose's `ports:` in every form it takes, as Corral's short form (`[IP:][HOST:]CONTAINER[/PROTO]`,
// one port each). Short: "80", "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80", ranges
// ("8080-8081:80-81", "80-81"), "/udp". Long: { target, published (a number, or a string that may be
// a range), host_ip, protocol, mode, name, app_protocol }. What Corral cannot publish the same way is
// refused with the reason: IPv6 host addresses (Corral publishes on IPv4 only), SCTP, a range of
// host ports for one container port (docker picks a free one of them; Corral publishes fixed ports).

/** A port entry Corral cannot publish as written: why, and how to rewrite it. */
export class PortRefusal extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
  }
}

/** The most ports one range publishes (a range is one mapping per port). */
const MOST_PORTS_IN_RANGE = 1000;

interface Range { readonly first: number; readonly last: number }

function rangeOf(text: string, what: string): Range {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!match) throw new PortRefusal(`${what} ${text} is not a port or a range of ports`, 'write a number from 1 to 65535, or a range such as 8080-8081');
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (last < first) throw new PortRefusal(`${what} range ${text} ends before it starts`, `write ${last}-${first}`);
  if (last - first >= MOST_PORTS_IN_RANGE) throw new PortRefusal(`${what} range ${text} has more than ${MOST_PORTS_IN_RANGE} ports`, 'publish a smaller range');
  return { first, last };
}

function protocolOf(text: string | undefined): string {
  const protocol = (text ?? 'tcp').toLowerCase();
  if (protocol === 'tcp' || protocol === 'udp') return protocol;
  if (protocol === 'sctp') throw new PortRefusal('SCTP ports are not published by Corral (its port mapping is TCP and UDP)', 'publish the port over tcp or udp, or run this service with docker compose');
  throw new PortRefusal(`protocol ${protocol} is not a protocol ports are published with`, 'write tcp or udp');
}

function hostIpOf(text: string): string {
  const address = text.replace(/^\[(.*)\]$/, '$1');
  if (address === '' || isIP(address) === 4) return address;
  if (isIP(address) === 6) {
    throw new PortRefusal(`host address ${address} is IPv6, and Corral publishes ports on IPv4 addresses only`, address === '::1' ? 'write 127.0.0.1 instead of [::1]' : address === '::' ? 'write 0.0.0.0 instead of [::] (or leave the address out)' : 'write an IPv4 address of this host, or leave the address out');
  }
  throw new PortRefusal(`host address ${text} is not an IP address`, 'write an IPv4 address such as 127.0.0.1, or leave it out');
}

/** One mapping per port of the ranges (or one for single ports). */
function expand(hostIp: string, host: Range | undefined, container: Range, protocol: string): string[] {
  const count = container.last - container.first;
  if (host && host.last - host.first !== count) {
    if (count === 0) {
      throw new PortRefusal(`host ports ${host.first}-${host.last} for one container port: docker publishes one free port of the range; Corral publishes fixed ports`, `write one host port, e.g. ${host.first}:${container.first}`);
    }
    throw new PortRefusal(`host range ${host.first}-${host.last} and container range ${container.first}-${container.last} differ in length`, 'give both ranges the same number of ports');
  }
  const suffix = protocol === 'tcp' ? '' : `/${protocol}`;
  return Array.from({ length: count + 1 }, (_, offset) => {
    const hostPart = host ? String(host.first + offset) : '';
    const prefix = hostIp ? `${hostIp}:${hostPart}:` : hostPart ? `${hostPart}:` : '';
    return `${prefix}${container.first + offset}${suffix}`;
  });
}

/** A short-form entry ("127.0.0.1:8080-8081:80-81/udp", "[::1]:8080:80", 80). */
function shortForm(text: string): string[] {
  const [spec, protocolText, extra] = text.trim().split('/');
  if (extra !== undefined) throw new PortRefusal(`port ${text} has more than one protocol`, 'write PORT/tcp or PORT/udp');
  const protocol = protocolOf(protocolText);
  // An address first: [IPv6] in brackets, or anything up to the last two colons.
  const bracketed = /^(\[[^\]]*\]):(.*)$/.exec(spec!);
  const parts = bracketed ? [bracketed[1]!, ...bracketed[2]!.split(':')] : spec!.split(':');
  if (!bracketed && parts.length > 3) hostIpOf(parts.slice(0, -2).join(':'));
  if (parts.length > 3) throw new PortRefusal(`port ${text} has too many parts`, 'write [IP:][HOST_PORT:]CONTAINER_PORT, e.g. 127.0.0.1:8080:80');
  const container = rangeOf(parts.pop()!, 'container port');
  const hostText = parts.pop();
  const hostIp = hostIpOf(parts.pop() ?? '');
  const host = hostText === undefined || hostText === '' ? undefined : rangeOf(hostText, 'host port');
  return expand(hostIp, host, container, protocol);
}

/** A long-form entry. mode (host or ingress: both publish on this host), name and app_protocol change nothing here. */
function longForm(port: Record<string, unknown>): string[] {
  if (port.target === undefined) throw new PortRefusal('the port has no target (the container\'s port)', 'add target: PORT');
  const container = rangeOf(String(port.target), 'target');
  const host = port.published === undefined || port.published === '' ? undefined : rangeOf(String(port.published), 'published port');
  return expand(hostIpOf(port.host_ip === undefined ? '' : String(port.host_ip)), host, container, protocolOf(port.protocol === undefined ? undefined : String(port.protocol)));
}

/** One compose `ports:` entry as Corral's short forms, one per published port; PortRefusal when it cannot be published the same way. */
export function composePorts(entry: unknown): string[] {
  if (typeof entry === 'number') return shortForm(String(entry));
  if (typeof entry === 'string') return shortForm(entry);
  if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) return longForm(entry as Record<string, unknown>);
  throw new PortRefusal('a port is a number, a string or a mapping', 'write "8080:80" or { target: 80, published: 8080 }');
}
