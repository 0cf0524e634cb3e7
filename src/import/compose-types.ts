import type { PathSegment } from '../project/parse.js';
import type { ValueType } from '../project/interpolate.js';

// The typed values of a compose file, as compose-go's loader converts them after interpolation
// (loader/interpolate.go, interpolateTypeCastMapping), extended to every boolean, integer and number
// of the compose-spec schema: `privileged: ${P:-false}` is the boolean false, `replicas: ${N}` a
// number. test/import/compose-keys.test.ts checks that every typed value of the schema is here or
// in STRING_FORMS.

/** Paths (as in compose-keys.ts: `*` any name, `[]` any item) to the type their string becomes. */
export const COMPOSE_VALUE_TYPES: Readonly<Record<string, ValueType>> = {
  'services.*.attach': 'boolean',
  'services.*.blkio_config.weight': 'integer',
  'services.*.blkio_config.weight_device[].weight': 'integer',
  'services.*.build.no_cache': 'boolean',
  'services.*.build.privileged': 'boolean',
  'services.*.build.pull': 'boolean',
  'services.*.build.ulimits.*': 'integer',
  'services.*.build.ulimits.*.hard': 'integer',
  'services.*.build.ulimits.*.soft': 'integer',
  'services.*.cpu_count': 'integer',
  'services.*.cpu_percent': 'number',
  'services.*.cpu_period': 'integer',
  'services.*.cpu_quota': 'integer',
  'services.*.cpu_shares': 'integer',
  'services.*.cpus': 'number',
  'services.*.depends_on.*.required': 'boolean',
  'services.*.depends_on.*.restart': 'boolean',
  'services.*.deploy.placement.max_replicas_per_node': 'integer',
  'services.*.deploy.replicas': 'integer',
  'services.*.deploy.resources.limits.cpus': 'number',
  'services.*.deploy.resources.limits.pids': 'integer',
  'services.*.deploy.resources.reservations.cpus': 'number',
  'services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec.value': 'number',
  'services.*.deploy.restart_policy.max_attempts': 'integer',
  'services.*.deploy.rollback_config.max_failure_ratio': 'number',
  'services.*.deploy.rollback_config.parallelism': 'integer',
  'services.*.deploy.update_config.max_failure_ratio': 'number',
  'services.*.deploy.update_config.parallelism': 'integer',
  'services.*.develop.watch[].exec.privileged': 'boolean',
  'services.*.develop.watch[].initial_sync': 'boolean',
  'services.*.env_file[].required': 'boolean',
  'services.*.healthcheck.disable': 'boolean',
  'services.*.healthcheck.retries': 'integer',
  'services.*.init': 'boolean',
  'services.*.mem_swappiness': 'integer',
  'services.*.networks.*.gw_priority': 'number',
  'services.*.networks.*.priority': 'number',
  'services.*.oom_kill_disable': 'boolean',
  'services.*.oom_score_adj': 'integer',
  'services.*.pids_limit': 'integer',
  'services.*.ports[].target': 'integer',
  'services.*.post_start[].privileged': 'boolean',
  'services.*.pre_stop[].privileged': 'boolean',
  'services.*.privileged': 'boolean',
  'services.*.read_only': 'boolean',
  'services.*.scale': 'integer',
  'services.*.stdin_open': 'boolean',
  'services.*.tty': 'boolean',
  'services.*.ulimits.*': 'integer',
  'services.*.ulimits.*.hard': 'integer',
  'services.*.ulimits.*.soft': 'integer',
  'services.*.use_api_socket': 'boolean',
  'services.*.volumes[].bind.create_host_path': 'boolean',
  'services.*.volumes[].read_only': 'boolean',
  'services.*.volumes[].volume.nocopy': 'boolean',
  'models.*.context_size': 'integer',
  'networks.*.attachable': 'boolean',
  'networks.*.enable_ipv4': 'boolean',
  'networks.*.enable_ipv6': 'boolean',
  'networks.*.external': 'boolean',
  'networks.*.internal': 'boolean',
  'volumes.*.external': 'boolean',
  'secrets.*.external': 'boolean',
  'configs.*.external': 'boolean',
};

/**
 * Values the schema types as a number or boolean that also have a string form of their own, left as
 * strings: sizes (`256m`), durations (`1s`), octal modes (`"0440"`), port ranges, `all`, attestation
 * options.
 */
export const STRING_FORMS: readonly string[] = [
  'services.*.blkio_config.device_read_bps[].rate', 'services.*.blkio_config.device_read_iops[].rate',
  'services.*.blkio_config.device_write_bps[].rate', 'services.*.blkio_config.device_write_iops[].rate',
  'services.*.build.provenance', 'services.*.build.sbom', 'services.*.build.shm_size', 'services.*.build.secrets[].mode',
  'services.*.configs[].mode', 'services.*.secrets[].mode', 'services.*.cpu_rt_period', 'services.*.cpu_rt_runtime',
  'services.*.deploy.resources.reservations.devices[].count', 'services.*.gpus[].count',
  'services.*.mem_limit', 'services.*.mem_reservation', 'services.*.memswap_limit', 'services.*.shm_size',
  'services.*.ports[].published', 'services.*.volumes[].tmpfs.size', 'services.*.volumes[].tmpfs.mode',
  'services.*.expose[]', 'services.*.group_add[]', 'services.*.ports[]', 'services.*.sysctls.*', 'services.*.labels.*',
  'services.*.environment.*', 'services.*.annotations.*', 'services.*.build.args.*', 'services.*.build.labels.*',
  'services.*.deploy.labels.*', 'services.*.develop.watch[].exec.environment.*', 'services.*.post_start[].environment.*',
  'services.*.pre_stop[].environment.*', 'services.*.extra_hosts.*', 'services.*.build.extra_hosts.*', 'services.*.build.additional_contexts.*',
  'services.*.build.ssh.*', 'services.*.deploy.resources.reservations.devices[].options.*', 'services.*.gpus[].options.*',
  'networks.*.labels.*', 'volumes.*.labels.*', 'secrets.*.labels.*', 'configs.*.labels.*', 'services.*.volumes[].volume.labels.*',
  'networks.*.driver_opts.*', 'volumes.*.driver_opts.*', 'secrets.*.driver_opts.*', 'services.*.networks.*.driver_opts.*',
  'services.*.logging.options.*', 'networks.*.ipam.options.*', 'networks.*.ipam.config[].aux_addresses.*', 'services.*.storage_opt.*',
  'services.*.provider.options.*', 'services.*.provider.options.*[]', 'include[].env_file', 'services.*.env_file',
];

/** `services.web.ports.0.target` against `services.*.ports[].target`. */
function matches(path: readonly PathSegment[], pattern: readonly string[]): boolean {
  return path.length === pattern.length && pattern.every((part, index) => {
    const segment = path[index];
    if (part === '[]') return typeof segment === 'number';
    if (part === '*') return typeof segment === 'string';
    return part === segment;
  });
}

const PATTERNS = Object.entries(COMPOSE_VALUE_TYPES).map(([pattern, type]) => ({ parts: pattern.replaceAll('[]', '.[]').split('.'), type }));

/** The type the value at `path` of a compose file has, when the schema types it (boolean, integer, number). */
export function composeValueType(path: readonly PathSegment[]): ValueType | undefined {
  return PATTERNS.find((pattern) => matches(path, pattern.parts))?.type;
}
