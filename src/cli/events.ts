import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerEvent } from '../supervisor/container-events.js';
import { LOG_TIME_FORMS } from '../runtime/log-window.js';
import { timeFlag } from './logs.js';
import { containerId } from '../state/paths.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral events [--json] [--since T] [--until T] [pod | pod/container ...]`: what happens to the
// project's containers (create, start, oom, die, pause, unpause, health_status, restart, destroy, checkpoint, restore), as the
// supervisor tells it in events.jsonl. Without --since only new events, as docker compose events;
// --since replays what is kept first. Runs until Ctrl-C, or until --until has passed.

interface EventsOptions extends TargetOptions {
  readonly json?: boolean;
  readonly since?: string;
  readonly until?: string;
}

/** How often the events file is looked at for new lines. */
const FOLLOW_POLL_MS = 200;

/** The stable JSON shape of one event (documented in the README). */
export function eventJson(event: ContainerEvent, project: string) {
  const [pod, container] = event.resource.split('/') as [string, string];
  return { time: event.time, type: 'container', action: event.action, project, pod, container, id: containerId(project, pod, container), attributes: event.attributes };
}

/** One event as docker compose prints it: time, type, action, the container, then its attributes. */
export function eventLine(event: ContainerEvent, project: string): string {
  const { pod, container, id } = eventJson(event, project);
  const attributes = Object.entries({ project, pod, container, ...event.attributes }).map(([key, value]) => `${key}=${value}`).join(', ');
  return `${event.time} container ${event.action} ${id} (${attributes})`;
}

async function runEvents(resources: readonly string[], options: EventsOptions): Promise<void> {
  const startedMs = Date.now();
  const sinceMs = timeFlag('--since', options.since, startedMs) ?? startedMs;
  const untilMs = timeFlag('--until', options.until, startedMs);
  const [{ openRuntime }, { readEvents }] = await Promise.all([import('../runtime/context.js'), import('../state/events-log.js')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'events', acceptTheOneRunning: true }), { readOnly: true });
  const wanted = (event: ContainerEvent) => resources.length === 0 || resources.some((resource) => event.resource === resource || event.resource.startsWith(`${resource}/`));
  let interrupted = false;
  process.on('SIGINT', () => (interrupted = true));
  // Each event is looked at once: the next read starts after the last one looked at (found again by
  // its text, as the supervisor may have rewritten the file down to its newest events meanwhile).
  let lastLookedAt: string | undefined;
  for (;;) {
    const events = (await readEvents(context.paths.events)).map((event) => ({ event, text: JSON.stringify(event) }));
    const start = lastLookedAt === undefined ? 0 : events.map((entry) => entry.text).lastIndexOf(lastLookedAt) + 1;
    for (const { event, text } of events.slice(start)) {
      lastLookedAt = text;
      const ms = Date.parse(event.time);
      if (ms < sinceMs || (untilMs !== undefined && ms >= untilMs) || !wanted(event)) continue;
      process.stdout.write(`${options.json ? JSON.stringify(eventJson(event, context.project)) : eventLine(event, context.project)}\n`);
    }
    if (interrupted || (untilMs !== undefined && Date.now() >= untilMs)) return;
    await sleep(FOLLOW_POLL_MS);
  }
}

export function registerEvents(program: Command): void {
  withTargetOptions(program
    .command('events')
    .argument('[resources...]', 'only these pods or pod/containers')
    .description('stream what happens to the containers (create, start, oom, die, pause, unpause, health_status, restart, destroy, checkpoint, restore)'))
    .option('--json', 'one JSON object per line (time, type, action, project, pod, container, id, attributes)')
    .option('--since <time>', `replay the kept events since then: ${LOG_TIME_FORMS}`)
    .option('--until <time>', 'stop once this time has passed (same forms as --since)')
    .action(async (resources: string[], options: EventsOptions, command: Command) => runEvents(resources, { ...command.optsWithGlobals(), ...options }));
}
