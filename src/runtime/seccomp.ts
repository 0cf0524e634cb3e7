import { readFile } from 'node:fs/promises';
import { whenMissing } from '../state/read.js';
import { jsonErrorPosition } from '../state/errors.js';

// The runtime's syscall filter, from the standard profile that containers-common ships (the one
// podman uses), turned from its docker-style form (rules that depend on capabilities and
// architectures) into the plain OCI form for one container's capabilities on this host.

export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

interface ProfileRule {
  names?: string[];
  name?: string;
  action: string;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  errnoRet?: number;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: ProfileRule[];
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
const SECCOMP_ARCH: Record<string, string> = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', '386': 'SCMP_ARCH_X86', arm: 'SCMP_ARCH_ARM', ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X' };

function ruleApplies(rule: ProfileRule, capabilities: ReadonlySet<string>, arch: string): boolean {
  const { includes = {}, excludes = {} } = rule;
  if (includes.caps?.some((cap) => !capabilities.has(cap))) return false;
  if (includes.arches?.length && !includes.arches.includes(arch)) return false;
  if (excludes.caps?.some((cap) => capabilities.has(cap))) return false;
  if (excludes.arches?.includes(arch)) return false;
  return true;
}

/** The OCI `linux.seccomp` section for a container with these capabilities on this architecture. */
export function seccompForContainer(profile: DockerSeccompProfile, capabilities: readonly string[], nodeArch: string = process.arch) {
  const arch = GO_ARCH[nodeArch] ?? nodeArch;
  const native = SECCOMP_ARCH[arch];
  const mapped = profile.archMap?.find((entry) => entry.architecture === native);
  const granted = new Set(capabilities);
  const syscalls = (profile.syscalls ?? []).filter((rule) => ruleApplies(rule, granted, arch)).map((rule) => ({
    names: rule.names ?? (rule.name ? [rule.name] : []),
    action: rule.action,
    ...(rule.args?.length ? { args: rule.args.map(({ index, value, valueTwo, op }) => ({ index, value, valueTwo: valueTwo ?? 0, op })) } : {}),
    ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
  }));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: mapped ? [mapped.architecture, ...(mapped.subArchitectures ?? [])] : native ? [native] : [],
    syscalls,
  };
}

export type OciSeccomp = ReturnType<typeof seccompForContainer>;

/** The standard profile, or undefined (no filter, said once in the log) where the host has none. */
export async function loadSeccompProfile(file = DEFAULT_SECCOMP_PROFILE): Promise<DockerSeccompProfile | undefined> {
  const text = await readFile(file, 'utf8').catch(whenMissing(undefined));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as DockerSeccompProfile;
  } catch (error) {
    // Never "no filter" for a damaged profile: that would run every container unconfined.
    throw new Error(`seccomp profile ${file} is not valid JSON at ${jsonErrorPosition(text, error as Error)}; repair it (reinstall containers-common for the default one) or use seccomp: unconfined`, { cause: error });
  }
}
