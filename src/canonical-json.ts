import { byCodeUnits } from './code-unit-order.js';

// Equal values must give equal text wherever Corral compares or hashes data it wrote (config hashes,
// published ports kept on disk, watch rules), whatever order the keys were built in.

/** JSON with keys sorted at every level, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      return Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => byCodeUnits(a, b)));
    }
    return inner;
  });
}
