import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NotReadyError } from '../../src/converge/readiness.js';
import { WaitFailure } from '../../src/converge/wait.js';
import { describeFailure } from '../../src/cli/errors.js';

// The errors of readiness and `up --wait` say which container, why, and what to do, and keep what
// caused them; the message alone stays the reason, for the lines that put it after a name.

const errors = suite('converge: errors say where and how to fix');

errors('NotReadyError: the message is the reason; the full text names the container and the fix', () => {
  const cause = new Error('connect ECONNREFUSED');
  const error = new NotReadyError({ resource: 'api/server', reason: 'unhealthy after 2 probes: connect refused', hint: 'check its healthcheck', cause });
  assert.is(error.message, 'unhealthy after 2 probes: connect refused', 'the reason alone');
  assert.is(error.toString(), 'api/server unhealthy after 2 probes: connect refused (check its healthcheck)', 'where, what and how to fix');
  assert.is(error.cause, cause, 'the cause is kept');
});

errors('WaitFailure: the project and each container, and what to run', () => {
  const cause = new NotReadyError({ resource: 'web/app', reason: 'unhealthy after 3 probes: no output', hint: 'check its healthcheck' });
  const error = new WaitFailure({ project: 'demo', failures: ['web/app is unhealthy after 3 probes: no output', 'web/db is missing'], cause });
  assert.equal(error.failures, ['web/app is unhealthy after 3 probes: no output', 'web/db is missing'], 'one per container');
  assert.is(describeFailure(error, false), 'corral: project demo: web/app is unhealthy after 3 probes: no output; web/db is missing (see `corral ps -p demo` and `corral logs -p demo POD/CONTAINER`; fix the cause and run `corral up` again)', 'the line the user sees');
  assert.is(error.cause, cause, 'the cause is kept');
});

errors.run();
