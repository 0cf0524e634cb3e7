import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeBuildFailure } from '../../src/images/build.js';
import { buildTag, markingArguments } from '../../src/images/build-leftovers.js';

// What a failed build says, from buildah's output alone (the builds themselves run in
// test/cli/images.test.ts).

const build = suite('images: build failures and leftovers');
const base = { ref: 'corral-build/p/app/main', dockerfile: '/src/app/Dockerfile' };

const failures: { name: string; output: string; signal?: string; timedOut?: boolean; says: string }[] = [
  {
    name: 'a RUN step that exits non-zero',
    output: 'oops\nsubprocess exited with status 3\nsubprocess exited with status 3\nError: building at STEP "RUN echo start; echo oops >&2; exit 3": exit status 3\n',
    says: 'building corral-build/p/app/main failed at step `RUN echo start; echo oops >&2; exit 3` of /src/app/Dockerfile: exit status 3 (its last output: oops | subprocess exited with status 3); fix that step and run `corral up` again',
  },
  {
    name: 'a COPY of a file the context lacks',
    output: 'Error: building at STEP "COPY nothere /x": checking on sources under "/src/app": copier: stat: "/nothere": no such file or directory\n',
    says: 'building corral-build/p/app/main failed at step `COPY nothere /x` of /src/app/Dockerfile: checking on sources under "/src/app": copier: stat: "/nothere": no such file or directory; fix that step and run `corral up` again',
  },
  {
    name: 'an error before any step',
    output: 'Error: no FROM statement found\n',
    says: 'building corral-build/p/app/main with /src/app/Dockerfile failed: Error: no FROM statement found (fix the Dockerfile and run `corral up` again)',
  },
  {
    name: 'buildah killed',
    output: 'half a line', signal: 'SIGKILL',
    says: 'building corral-build/p/app/main with /src/app/Dockerfile failed: buildah was killed by SIGKILL (run `corral up` again)',
  },
  {
    name: 'a build over the time limit',
    output: '', signal: 'SIGTERM', timedOut: true,
    says: 'building corral-build/p/app/main with /src/app/Dockerfile took more than 30 minutes and was stopped (make the build faster, or build the image yourself and name it in `image:`)',
  },
];

for (const { name, says, ...failure } of failures) {
  build(`a failed build says where and why: ${name}`, () => {
    assert.is(describeBuildFailure({ ...base, ...failure }), says, name);
  });
}

build('a build marks its working containers and tags its result with its work dir', () => {
  const work = '/var/lib/corral/images/build-1234-AbC123';
  assert.equal(markingArguments(work), ['--build-arg', `CORRAL_BUILD=${work}`], 'the work dir, whole: it tells the store and the pid');
  assert.is(buildTag(work), 'localhost/corral-build-build-1234-abc123', 'lower case, as image names must be');
});

build.run();
