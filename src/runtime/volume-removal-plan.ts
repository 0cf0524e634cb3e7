// Which volumes a removal takes: pure, so that `volume rm` can refuse all of it before anything goes,
// for a project's own volumes and for the host's alike. A volume in use is never removed, as docker
// never removes one.

export interface VolumeRemovalPlan {
  readonly remove: readonly string[];
  /** Named but not there: an error for `volume rm` without -f, skipped with it. */
  readonly missing: readonly string[];
  /** Used by a container: never removed, with -f or without. */
  readonly refused: readonly { readonly name: string; readonly usedBy: readonly string[] }[];
}

/** What becomes of each of `names`, given the volumes there are and the containers that use each. */
export function planVolumeRemoval(names: readonly string[], usersOfExisting: ReadonlyMap<string, readonly string[]>): VolumeRemovalPlan {
  const unique = [...new Set(names)];
  const present = unique.filter((name) => usersOfExisting.has(name));
  return {
    remove: present.filter((name) => usersOfExisting.get(name)!.length === 0),
    missing: unique.filter((name) => !usersOfExisting.has(name)),
    refused: present.flatMap((name) => { const usedBy = usersOfExisting.get(name)!; return usedBy.length > 0 ? [{ name, usedBy }] : []; }),
  };
}
