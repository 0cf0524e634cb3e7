import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imagesOfProject, type ImageSummary, splitReference } from '../../src/images/list.js';

// `corral images`: a reference's repository and tag, and the rows of one project.

test('the tag is after the last colon that no slash follows; a digest is not a tag', () => {
  assert.equal(splitReference('127.0.0.1:5000/test/busy:v1'), { repository: '127.0.0.1:5000/test/busy', tag: 'v1' });
  assert.equal(splitReference('127.0.0.1:5000/test/busy'), { repository: '127.0.0.1:5000/test/busy', tag: '-' });
  assert.equal(splitReference('docker-archive:/work/busy.tar'), { repository: 'docker-archive:/work/busy.tar', tag: '-' });
  assert.equal(splitReference('oci:/work/layout:v2'), { repository: 'oci:/work/layout', tag: 'v2' });
  assert.equal(splitReference('busybox@sha256:abc'), { repository: 'busybox', tag: '-' });
});

test('one row per container of the project, sorted; other projects\' containers are left out', () => {
  const image = (ref: string, containers: string[]): ImageSummary => ({ ref, id: `sha256:${ref.length}`, layers: 1, size: 10, sharedSize: 0, containers, pulledAt: '' });
  const rows = imagesOfProject([image('a:1', ['p/web/app', 'q/web/app']), image('b:2', ['p/db/main', 'pp/x/y'])], 'p');
  assert.equal(rows.map((row) => [row.container, row.repository, row.tag]), [['db/main', 'b', '2'], ['web/app', 'a', '1']]);
});

test.run();
