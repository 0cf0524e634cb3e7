import path from 'node:path';

// Relative paths made absolute, for a service (or a whole model) taken from a file whose directory
// is not the project's: a service of another file through `extends`, the files `include` brings in
// (compose-go paths/resolve.go). The project's own files keep theirs, relative to the project directory.

type Raw = Record<string, unknown>;

const isMapping = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

const isRemote = (source: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@');

/** A service with its build context, env_file, label_file, watch and bind sources made absolute against `dir`. */
export function withAbsolutePaths(service: unknown, dir: string): unknown {
  if (!isMapping(service)) return service;
  const value: Raw = { ...service };
  // `~/...` is the home directory wherever the file is: left for normalise to expand.
  const fromHome = (source: string) => source === '~' || source.startsWith('~/');
  const absolute = (source: string) => (path.isAbsolute(source) || isRemote(source) || fromHome(source) ? source : path.resolve(dir, source));
  if (typeof value.build === 'string') value.build = absolute(value.build);
  else if (isMapping(value.build)) value.build = { ...value.build, context: absolute(String(value.build.context ?? '.')) };
  for (const key of ['env_file', 'label_file']) {
    if (value[key] === undefined) continue;
    const one = (entry: unknown) => (typeof entry === 'string' ? absolute(entry) : isMapping(entry) && typeof entry.path === 'string' ? { ...entry, path: absolute(entry.path) } : entry);
    value[key] = Array.isArray(value[key]) ? (value[key] as unknown[]).map(one) : one(value[key]);
  }
  if (Array.isArray(value.volumes)) {
    value.volumes = value.volumes.map((volume) => {
      if (typeof volume === 'string') {
        const [source, ...rest] = volume.split(':');
        return rest.length > 0 && source!.startsWith('.') ? [absolute(source!), ...rest].join(':') : volume;
      }
      if (isMapping(volume) && volume.type === 'bind' && typeof volume.source === 'string') return { ...volume, source: absolute(volume.source) };
      return volume;
    });
  }
  if (isMapping(value.develop) && Array.isArray(value.develop.watch)) {
    value.develop = { ...value.develop, watch: value.develop.watch.map((rule) => (isMapping(rule) && typeof rule.path === 'string' ? { ...rule, path: absolute(rule.path) } : rule)) };
  }
  return value;
}

/** A whole model's relative paths made absolute: its services', and the files of its secrets and configs, and bind devices of its volumes. */
export function modelWithAbsolutePaths(model: unknown, dir: string): unknown {
  if (!isMapping(model)) return model;
  const value: Raw = { ...model };
  const each = (entries: unknown, change: (entry: Raw) => Raw) => (isMapping(entries) ? Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, isMapping(entry) ? change(entry) : entry])) : entries);
  if (isMapping(value.services)) value.services = Object.fromEntries(Object.entries(value.services).map(([name, service]) => [name, withAbsolutePaths(service, dir)]));
  for (const key of ['secrets', 'configs']) {
    if (value[key] !== undefined) value[key] = each(value[key], (entry) => (typeof entry.file === 'string' ? { ...entry, file: path.resolve(dir, entry.file) } : entry));
  }
  if (value.volumes !== undefined) {
    value.volumes = each(value.volumes, (entry) => {
      const options = isMapping(entry.driver_opts) ? entry.driver_opts : undefined;
      if (!options || typeof options.device !== 'string' || !String(options.o ?? '').split(',').includes('bind')) return entry;
      return { ...entry, driver_opts: { ...options, device: path.resolve(dir, options.device) } };
    });
  }
  return value;
}
