import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileFilter } from '../../src/watch/rules.js';

// Which changed files a watch rule counts: its ignore patterns (and .gitignore, .dockerignore) keep
// files out; include patterns, when given, name the only files that count, ignore still applying.

const filter = suite('watch rule file filter');

const kept = (counts: (relative: string) => boolean, files: string[]) => files.filter(counts);
const FILES = ['app.js', 'lib/util.js', 'lib/util.test.js', 'README.md', 'build/out.js', '.git/HEAD'];

filter('without include, every file but the ignored ones and .git counts', () => {
  assert.equal(kept(fileFilter({ ignore: ['*.md'] }), FILES), ['app.js', 'lib/util.js', 'lib/util.test.js', 'build/out.js']);
});

filter('include keeps only the files it matches, in any directory; ignore still applies', () => {
  assert.equal(kept(fileFilter({ ignore: ['*.test.js'], include: ['*.js'] }), FILES), ['app.js', 'lib/util.js', 'build/out.js']);
});

filter('an include of a directory counts the files under it', () => {
  assert.equal(kept(fileFilter({ ignore: [], include: ['lib/'] }), FILES), ['lib/util.js', 'lib/util.test.js']);
});

filter('what .gitignore and .dockerignore say keeps files out as ignore does', () => {
  assert.equal(kept(fileFilter({ ignore: [], include: ['*.js'] }, ['build/\n', 'lib/*.test.js\n']), FILES), ['app.js', 'lib/util.js']);
});

filter.run();
