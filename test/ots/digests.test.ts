/** The two builds of `#ots-digests` (node:crypto in Node, @noble/hashes in browsers) agree on every input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as nodeDigests from '../../src/ots/digests-node.js';
import * as portableDigests from '../../src/ots/digests-portable.js';
import { sha256, toHex } from '../../src/ots/index.js';

describe('#ots-digests', () => {
  it('node:crypto and @noble/hashes give the same sha1, ripemd160 and sha256', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        assert.equal(toHex(portableDigests.sha1(data)), toHex(nodeDigests.sha1(data)), 'sha1');
        assert.equal(toHex(portableDigests.ripemd160(data)), toHex(nodeDigests.ripemd160(data)), 'ripemd160');
        assert.equal(toHex(portableDigests.sha256(data)), toHex(nodeDigests.sha256(data)), 'sha256');
      }),
      { numRuns: 300 },
    );
  });

  it('gives plain Uint8Arrays, never Buffers, of the digest length', () => {
    const data = new Uint8Array([1, 2, 3]);
    for (const [digest, length] of [
      [nodeDigests.sha1, 20],
      [nodeDigests.ripemd160, 20],
      [nodeDigests.sha256, 32],
    ] as const) {
      const out = digest(data);
      assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
      assert.equal(out.length, length);
    }
  });

  it('resolves to node:crypto in Node', () => {
    assert.equal(sha256, nodeDigests.sha256);
  });
});
