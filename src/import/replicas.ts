import type { PathSegment } from '../project/parse.js';
import { errorAt } from '../project/parse.js';
import type { Raw, Translation } from './translation.js';

// Replicas (a Deployment's `replicas`, compose's `scale` and `deploy.replicas`): each replica is a
// pod of its own, `web-1`..`web-N`; one replica keeps the plain name, so a project without replicas
// is named as it always was.

/** Each replica is a pod with its own namespaces on this one host. */
export const MOST_REPLICAS = 1000;

/** How many replicas a compose service asks for (1 when it says nothing); refused at its line when it is no count or two keys disagree. */
export function composeReplicasOf(t: Translation, raw: Raw, at: PathSegment[]): number {
  const deploy = t.mapping(raw.deploy, [...at, 'deploy'], '{ replicas: 2 }');
  const asked = ([['scale'], ['deploy', 'replicas']] as const)
    .map((key) => ({ key, value: key.length === 1 ? raw.scale : deploy.replicas }))
    .filter(({ value }) => value !== undefined)
    .map(({ key, value }) => {
      const count = Number(value);
      if (typeof value === 'boolean' || value === '' || !Number.isInteger(count) || count < 0 || count > MOST_REPLICAS) {
        throw errorAt(t.source, [...at, ...key], `${key.join('.')}: ${String(value)} is not a number of replicas from 0 to ${MOST_REPLICAS}`, `write a whole number from 0 to ${MOST_REPLICAS}: each replica is a pod on this host`);
      }
      return { key, count };
    });
  const [first, second] = asked;
  if (first && second && first.count !== second.count) {
    throw errorAt(t.source, [...at, ...second.key], `deploy.replicas: ${second.count} and scale: ${first.count} disagree`, 'keep one of them (compose refuses two different counts too)');
  }
  return first?.count ?? 1;
}

/** The pods of the replicas of a pod: its name alone for one, NAME-1..NAME-N for more, none for 0. */
export function replicaPods(pod: string, replicas: number): string[] {
  if (replicas === 1) return [pod];
  return Array.from({ length: replicas }, (_, index) => `${pod}-${index + 1}`);
}
