// The dependency graph of a project's containers: `a → b` means a waits for b. Pure functions over
// adjacency maps, so the loader can refuse cycles and the apply can start what is ready.

export type Edges = ReadonlyMap<string, readonly string[]>;

/** A cycle as a path that returns to its start (`a, b, a`), or undefined when there is none. */
export function findCycle(edges: Edges): string[] | undefined {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const at = onPath.indexOf(node);
    if (at >= 0) return [...onPath.slice(at), node];
    if (done.has(node)) return undefined;
    onPath.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(node);
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Every node that `roots` reach (themselves included), following the edges. */
export function reachableFrom(roots: Iterable<string>, edges: Edges): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push(...(edges.get(node) ?? []));
  }
  return seen;
}
