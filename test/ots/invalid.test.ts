/**
 * Bad input: the fixture cases, every truncation of the real proofs, and random bytes and mutations.
 * Each must fail with a typed DeserializationError (the one the reference raises, where it runs),
 * never another exception, a crash or a hang.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DeserializationError, DetachedTimestampFile, fromHex, Timestamp, toHex } from 'otsd/ots';
import { ORACLE_ERROR_NAMES, withOracle } from '../oracle/oracle-test.js';
import { VECTORS_DIR } from './vectors.js';

interface Case {
  description: string;
  kind: 'tree' | 'file';
  msg: string;
  hex: string;
  error?: string;
}

const fixture = (name: string): Case[] =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8')) as Case[];

const parse = (kind: 'tree' | 'file', msg: Uint8Array, bytes: Uint8Array): Uint8Array =>
  kind === 'tree'
    ? Timestamp.fromBytes(msg, bytes).toBytes()
    : DetachedTimestampFile.fromBytes(bytes).toBytes();

/** Our verdict on an input: its re-serialization, or the name of the typed error. */
function verdict(
  kind: 'tree' | 'file',
  msg: Uint8Array,
  bytes: Uint8Array,
): { out: string } | { error: string } {
  try {
    return { out: toHex(parse(kind, msg, bytes)) };
  } catch (e) {
    assert.ok(e instanceof DeserializationError, `untyped error: ${String(e)}`);
    return { error: e.name };
  }
}

const vectors = readdirSync(VECTORS_DIR)
  .filter((f) => f.endsWith('.ots'))
  .map((f) => new Uint8Array(readFileSync(`${VECTORS_DIR}/${f}`)));

describe('invalid inputs (test/fixtures/ots-invalid.json)', () => {
  for (const c of fixture('ots-invalid.json')) {
    it(`${c.description}: ${c.error}`, () => {
      assert.throws(
        () => parse(c.kind, fromHex(c.msg), fromHex(c.hex)),
        (e) => e instanceof DeserializationError && e.name === c.error,
      );
    });
  }
  it('the reference rejects each with the same error', async (t) => {
    await withOracle(t, async (oracle) => {
      for (const c of fixture('ots-invalid.json')) {
        const answer = await oracle.request({ cmd: c.kind, msg: c.msg, data: c.hex });
        assert.equal(answer.ok, false, c.description);
        if (!answer.ok)
          assert.equal(ORACLE_ERROR_NAMES[answer.error] ?? answer.error, c.error, c.description);
      }
    });
  });
});

describe('inputs exactly at the limits (test/fixtures/ots-valid-limits.json)', () => {
  for (const c of fixture('ots-valid-limits.json')) {
    it(c.description, () => {
      assert.equal(toHex(parse(c.kind, fromHex(c.msg), fromHex(c.hex))), c.hex);
    });
  }
});

describe('truncations of real proofs', () => {
  it('every proper prefix of every vector is refused with a typed error', () => {
    for (const bytes of vectors) {
      for (let n = 0; n < bytes.byteLength; n++) {
        assert.throws(() => DetachedTimestampFile.fromBytes(bytes.subarray(0, n)), DeserializationError);
      }
    }
  });
});

describe('fuzz', () => {
  const mutated = fc
    .tuple(
      fc.constantFrom(...vectors),
      fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.nat(2)), { minLength: 1, maxLength: 4 }),
    )
    .map(([source, edits]) => {
      const bytes = Array.from(source);
      for (const [at, value, kind] of edits) {
        const i = at % (bytes.length + 1);
        if (kind === 0) bytes[i] = value;
        else if (kind === 1) bytes.splice(i, 0, value);
        else bytes.splice(i, 1);
      }
      return new Uint8Array(bytes);
    });

  it('random bytes and mutated proofs give a result or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (bytes, msg) => {
        verdict('tree', msg, bytes);
        verdict('file', msg, bytes);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(mutated, (bytes) => {
        verdict('file', new Uint8Array(), bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('on mutated proofs, we and the reference accept and refuse the same inputs', async (t) => {
    await withOracle(t, async (oracle) => {
      for (const bytes of fc.sample(mutated, { numRuns: 1500, seed: 99 })) {
        const ours = verdict('file', new Uint8Array(), bytes);
        const theirs = await oracle.request({ cmd: 'file', data: toHex(bytes) });
        if (theirs.ok) assert.deepEqual(ours, { out: theirs.out }, toHex(bytes));
        else
          assert.equal(
            'error' in ours ? ours.error : 'accepted',
            ORACLE_ERROR_NAMES[theirs.error] ?? theirs.error,
            toHex(bytes),
          );
      }
    });
  });
});
