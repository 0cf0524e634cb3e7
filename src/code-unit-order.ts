// Sorting text by its UTF-16 code units, as `<` compares strings. Not `localeCompare`: the first call
// of that loads ICU's collation data into the process, ~3 MB of RSS and a few ms of CPU, which a
// supervisor (it sorts runc's states on every observation) and a `ps` paid for names that are ASCII.

/** A comparator for Array.prototype.sort: a before b when a's code units come first. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
