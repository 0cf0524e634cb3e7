import { Resolver } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';

// A reload of aardvark-dns (SIGHUP) is asynchronous and silent: it rereads its files in its own time,
// and one it cannot parse leaves it serving the old names. So after telling it, Corral asks it, the way
// a pod would, for a name that only the new file carries, and waits for the right answer. The host
// asks from the network's gateway address, which the file lists as a pod of that network (aardvark-dns
// answers a requester only with the names of its networks, and forwards the queries of a stranger).

/** How long aardvark-dns has to answer with the new names: it rereads within milliseconds when well. */
export const CONFIRM_TIMEOUT_MS = 2_000;
/** One query's timeout (c-ares), short: a reload restarts its sockets, and a query to the old ones is lost. */
const QUERY_TIMEOUT_MS = 50;
/** The pause between two queries, so that a refused one (no socket yet) is not repeated in a loop. */
const RETRY_PAUSE_MS = 10;

/** What c-ares reports when a server does not (yet) answer right; anything else is a bug and thrown. */
const NOT_YET = new Set(['ENOTFOUND', 'ENODATA', 'ETIMEOUT', 'ECONNREFUSED', 'ESERVFAIL', 'EREFUSED']);

export interface ConfirmAnswerOptions {
  /** The network, for the error. */
  readonly network: string;
  /** Where aardvark-dns listens for it (port 53), and the address the host asks from. */
  readonly gateway: string;
  /** A name the new file alone carries, which resolves to the gateway. */
  readonly name: string;
  readonly timeoutMs?: number;
}

/** The last thing the server said, for the error: the addresses, or the code of the failure. */
type Answer = { readonly addresses: string[] } | { readonly code: string };

async function ask(resolver: Resolver, name: string): Promise<Answer> {
  try {
    return { addresses: await resolver.resolve4(name) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !NOT_YET.has(code)) throw error;
    return { code };
  }
}

/**
 * Waits until aardvark-dns answers `name` with the gateway on the network, within a bounded number of
 * short queries; throws naming the network, the name and the way to repair it otherwise.
 * Returns how long it took (milliseconds).
 */
export async function confirmResolverAnswers(options: ConfirmAnswerOptions): Promise<number> {
  const { network, gateway, name, timeoutMs = CONFIRM_TIMEOUT_MS } = options;
  const started = Date.now();
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 1 });
  resolver.setServers([gateway]);
  resolver.setLocalAddress(gateway);
  let last: Answer = { code: 'no query sent' };
  while (Date.now() - started < timeoutMs) {
    last = await ask(resolver, name);
    if ('addresses' in last && last.addresses.includes(gateway)) return Date.now() - started;
    await sleep(RETRY_PAUSE_MS);
  }
  const said = 'addresses' in last ? `it answered ${last.addresses.join(', ') || 'no address'}` : `last answer: ${last.code}`;
  throw new Error(`aardvark-dns does not serve the new names of network ${network}: asked ${gateway}:53 for ${name} for ${timeoutMs} ms, ${said}; `
    + 'run corral up again (it writes the names again and reloads the resolver); if that fails too, see the system log for aardvark-dns (it logs to syslog)');
}
