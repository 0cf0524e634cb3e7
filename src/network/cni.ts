import { log } from '../log.js';

// The CNI specification's runtime side, for one network configuration list: each plugin is executed
// with its configuration on stdin and CNI_* in the environment; ADD runs the plugins in order, each
// given the previous result; DEL runs them in reverse with the result of the ADD. The plugins do the
// real work (veth, bridge, IPAM, iptables); this only calls them and reports their errors.

export const CNI_PATH = process.env.CORRAL_CNI_PATH ?? '/usr/lib/cni';

export interface NetworkConfigList {
  readonly cniVersion: string;
  readonly name: string;
  /** Corral's own: the network has no way out (config-list.ts); never given to a plugin. */
  readonly internal?: boolean;
  readonly plugins: readonly Record<string, unknown>[];
}

export interface CniResult {
  readonly cniVersion?: string;
  readonly interfaces?: { name: string; mac?: string; sandbox?: string }[];
  readonly ips?: { address: string; gateway?: string; interface?: number }[];
  readonly [key: string]: unknown;
}

export interface Attachment {
  /** CNI_CONTAINERID. */
  readonly containerId: string;
  /** The network namespace's path (a pinned bind mount). */
  readonly netns: string;
  readonly ifName: string;
  /** runtimeConfig entries, given to the plugins that declare the capability. */
  readonly capabilityArgs?: Record<string, unknown>;
}

export class CniError extends Error {
  constructor(readonly plugin: string, readonly command: string, readonly code: number | undefined, message: string, readonly details?: string) {
    super(`CNI ${plugin} ${command}: ${message}${details ? ` (${details})` : ''}`);
  }
}

/** What one plugin of a list is given on stdin: its own config under the list's name and version. */
export interface PluginConfigOptions {
  readonly list: NetworkConfigList;
  readonly plugin: Record<string, unknown>;
  readonly attachment: Attachment;
  /** The previous plugin's result (ADD), or the result kept from ADD (DEL). */
  readonly prevResult?: CniResult;
}

/** The stdin config of one plugin: runtimeConfig carries only the capabilities the plugin declares. */
export function pluginConfig({ list, plugin, attachment, prevResult }: PluginConfigOptions): Record<string, unknown> {
  const capabilities = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig = Object.fromEntries(Object.entries(attachment.capabilityArgs ?? {}).filter(([name]) => capabilities[name]));
  return {
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtimeConfig).length > 0 ? { runtimeConfig } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}

async function execPlugin(command: 'ADD' | 'DEL' | 'CHECK', config: Record<string, unknown>, attachment: Attachment): Promise<CniResult | undefined> {
  const type = String(config.type);
  const started = performance.now();
  const { execa } = await import('execa');
  const result = await execa(`${CNI_PATH}/${type}`, [], {
    input: JSON.stringify(config),
    env: { CNI_COMMAND: command, CNI_CONTAINERID: attachment.containerId, CNI_NETNS: attachment.netns, CNI_IFNAME: attachment.ifName, CNI_PATH, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    extendEnv: false,
    reject: false,
    timeout: 30_000,
  });
  log.debug(`cni ${type} ${command} ${attachment.containerId}: exit ${result.exitCode} in ${(performance.now() - started).toFixed(1)} ms`);
  const output = String(result.stdout).trim();
  if (result.exitCode !== 0) {
    // Plugins print an error object ({code, msg, details}) on stdout, per the specification.
    try {
      const error = JSON.parse(output) as { code?: number; msg?: string; details?: string };
      throw new CniError(type, command, error.code, error.msg ?? 'failed', error.details);
    } catch (error) {
      if (error instanceof CniError) throw error;
      throw new CniError(type, command, undefined, String(result.stderr || output || `exit code ${result.exitCode}`).trim());
    }
  }
  return output ? (JSON.parse(output) as CniResult) : undefined;
}

/**
 * ADD through the whole list; returns the last plugin's result (the one to keep for DEL). `prevResult`:
 * the result of what came before the list (an interface Corral made itself, attach-one.ts).
 */
export async function addNetwork(list: NetworkConfigList, attachment: Attachment, prevResult?: CniResult): Promise<CniResult> {
  let result: CniResult | undefined = prevResult;
  for (const plugin of list.plugins) {
    result = (await execPlugin('ADD', pluginConfig({ list, plugin, attachment, prevResult: result }), attachment)) ?? result;
  }
  return result ?? {};
}

/** DEL through the list in reverse; every plugin runs even if one fails, and the first failure is thrown. */
export async function deleteNetwork(list: NetworkConfigList, attachment: Attachment, prevResult?: CniResult): Promise<void> {
  let failure: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin('DEL', pluginConfig({ list, plugin, attachment, prevResult }), attachment);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure) throw failure;
}
