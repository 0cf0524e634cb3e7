import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SupervisorError } from '../../src/supervisor/errors.js';
import { projectPaths } from '../../src/state/paths.js';

// The supervisor layer's one error: what, where (project, lock, socket, run dir) and how to fix it,
// a reason that callers tell the cases apart by, and the cause kept.

const errors = suite('supervisor: errors say what, where and how to fix');
const paths = projectPaths({ run: '/run/corral', state: '/var/lib/corral' }, 'shop');

errors('busy names the project and the lock, and how to end the other supervisor', () => {
  const error = SupervisorError.busy('shop', paths);
  assert.instance(error, SupervisorError);
  assert.is(error.reason, 'busy');
  assert.is(error.message, 'project shop: another supervisor runs (it holds /run/corral/shop/supervisor.lock)');
  assert.match(error.toString(), 'its pid is in /var/lib/corral/projects/shop/machines.json', 'says where to find it');
});

errors('project-gone names what is gone and keeps its cause', () => {
  const cause = Object.assign(new Error('ENOENT: no such file or directory, open \'/run/corral/shop/lock\''), { code: 'ENOENT' });
  const error = SupervisorError.projectGone('shop', paths, cause);
  assert.is(error.reason, 'project-gone');
  assert.is(error.message, 'project shop is no longer applied (/run/corral/shop or /var/lib/corral/projects/shop/applied.json is gone: `corral down` ran)');
  assert.match(error.toString(), '`corral up -p shop` applies it again', 'says how to fix it');
  assert.is(error.cause, cause, 'the cause is kept');
  assert.is(SupervisorError.projectGone('shop', paths).message, error.message, 'the same message every time (machines keep only the message)');
});

const socketCases = [
  { code: 'EACCES', hint: 'run corral as root' },
  { code: 'ENOTDIR', hint: 'check /run/corral/shop/supervisor.sock (ls -l; it must be a unix socket)' },
];

for (const { code, hint } of socketCases) {
  errors(`socket (${code}) names the socket and the errno, and what to do`, () => {
    const cause = Object.assign(new Error(`connect ${code} /run/corral/shop/supervisor.sock`), { code });
    const error = SupervisorError.socket(paths.supervisorSocket, cause);
    assert.is(error.reason, 'socket');
    assert.match(error.message, `cannot talk to the supervisor at /run/corral/shop/supervisor.sock`, 'where');
    assert.match(error.message, `(${code})`, 'the errno');
    assert.match(error.toString(), hint, 'how to fix it');
    assert.is(error.cause, cause, 'the cause is kept');
  });
}

errors.run();
