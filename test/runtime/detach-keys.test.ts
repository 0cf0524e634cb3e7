import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DETACH_KEYS, detachKeyMatcher, parseDetachKeys } from '../../src/runtime/detach-keys.js';

// The detach keys of attach: docker's --detach-keys format, and a matcher that holds back bytes that
// may start the sequence until it is clear they do not complete it.

const detachKeys = suite('detach keys');

detachKeys('ctrl-p,ctrl-q is bytes 0x10 0x11; a letter is itself; anything else is refused with the format', () => {
  assert.equal([...parseDetachKeys(DEFAULT_DETACH_KEYS)], [0x10, 0x11]);
  assert.equal([...parseDetachKeys('ctrl-a,x')], [0x01, 0x78]);
  assert.equal([...parseDetachKeys('ctrl-@')], [0x00]);
  assert.throws(() => parseDetachKeys('ctrl-pp'), /ctrl-pp.*ctrl-p,ctrl-q/);
  assert.throws(() => parseDetachKeys('ctrl-p,,ctrl-q'), /"" is neither/);
  assert.throws(() => parseDetachKeys(''), /neither|empty/);
});

detachKeys('the whole sequence detaches and is not sent; what came before it in the chunk is', () => {
  const match = detachKeyMatcher(Buffer.from([0x10, 0x11]));
  assert.equal(match(Buffer.from('ls\x10\x11')), { forward: Buffer.from('ls'), detached: true });
});

detachKeys('a sequence split over two chunks detaches; its first key is held back meanwhile', () => {
  const match = detachKeyMatcher(Buffer.from([0x10, 0x11]));
  assert.equal(match(Buffer.from('a\x10')), { forward: Buffer.from('a'), detached: false });
  assert.equal(match(Buffer.from('\x11')), { forward: Buffer.alloc(0), detached: true });
});

detachKeys('a first key not followed by the second reaches the container, in order', () => {
  const match = detachKeyMatcher(Buffer.from([0x10, 0x11]));
  assert.equal(match(Buffer.from('\x10')), { forward: Buffer.alloc(0), detached: false });
  assert.equal(match(Buffer.from('b')), { forward: Buffer.from('\x10b'), detached: false });
  // Twice the first key: the first goes on, the second may still start the sequence.
  assert.equal(match(Buffer.from('\x10\x10')), { forward: Buffer.from('\x10'), detached: false });
  assert.equal(match(Buffer.from('\x11')), { forward: Buffer.alloc(0), detached: true });
});

detachKeys.run();
