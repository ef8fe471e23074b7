/**
 * Differential tests against python-opentimestamps: bytes written by one implementation are read by
 * the other and written back identically, in both directions; `otsd info` prints what `ots info` does.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BitcoinBlockHeaderAttestation,
  DetachedTimestampFile,
  fromHex,
  MerkleTree,
  makeMerkleTree,
  OpAppend,
  PendingAttestation,
  strTree,
  Timestamp,
  toHex,
  Writer,
} from 'otsd/ots';
import { withOracle } from '../oracle/oracle-test.js';
import { deepTimestampArb, timestampArb } from './arbitraries.js';
import { VECTORS_DIR } from './vectors.js';

describe('conformance with python-opentimestamps', () => {
  it('trees we write, the reference reads and writes back identically (and prints as we do)', async (t) => {
    await withOracle(t, async (oracle) => {
      const samples = [
        ...fc.sample(timestampArb, { numRuns: 2500, seed: 20261124 }),
        ...fc.sample(deepTimestampArb, { numRuns: 100, seed: 7 }),
      ];
      for (const stamp of samples) {
        const data = toHex(stamp.toBytes());
        const answer = await oracle.call({ cmd: 'tree', msg: toHex(stamp.msg), data });
        assert.equal(answer.out, data);
        assert.equal(answer.info, strTree(stamp));
      }
    });
  });

  it('trees the reference writes, we read and write back identically', async (t) => {
    await withOracle(t, async (oracle) => {
      for (const seed of [1, 2, 3, 4]) {
        const { trees } = (await oracle.call({ cmd: 'random_trees', seed, count: 500 })) as {
          trees: { msg: string; data: string }[];
        };
        for (const { msg, data } of trees) {
          assert.equal(toHex(Timestamp.fromBytes(fromHex(msg), fromHex(data)).toBytes()), data);
        }
      }
    });
  });

  it('wide nodes with repeated ops and attestations read and write as the reference does', async (t) => {
    // Past the sets' scan limit (8): a repeated op replaces the earlier subtree and a repeated
    // attestation collapses, whether a node is scanned or looked up through its key map.
    await withOracle(t, async (oracle) => {
      for (const width of [3, 9, 40]) {
        const w = new Writer();
        for (let i = 0; i < width; i++) {
          if (i < width - 1) w.writeByte(0xff);
          if (i % 3 === 0) {
            w.writeByte(0x00);
            new PendingAttestation(`https://c${i % 7}.example`).write(w);
          } else {
            new OpAppend(new Uint8Array([i % 11])).write(w);
            w.writeByte(0x00);
            new BitcoinBlockHeaderAttestation(i).write(w);
          }
        }
        const data = toHex(w.toBytes());
        const answer = await oracle.call({ cmd: 'tree', msg: '01', data });
        assert.equal(
          toHex(Timestamp.fromBytes(fromHex('01'), fromHex(data)).toBytes()),
          answer.out,
          `${width}`,
        );
      }
    });
  });

  it('the vectors re-serialize as the reference does', async (t) => {
    await withOracle(t, async (oracle) => {
      for (const file of readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.ots'))) {
        const bytes = readFileSync(`${VECTORS_DIR}/${file}`);
        const ours = toHex(DetachedTimestampFile.fromBytes(bytes).toBytes());
        assert.equal((await oracle.call({ cmd: 'file', data: toHex(bytes) })).out, ours, file);
      }
    });
  });

  it('merkle trees and every leaf path equal make_merkle_tree', async (t) => {
    await withOracle(t, async (oracle) => {
      const cases = fc.sample(
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 300 }),
        {
          numRuns: 60,
          seed: 42,
        },
      );
      for (const leaves of cases) {
        const answer = (await oracle.call({ cmd: 'merkle', leaves: leaves.map(toHex) })) as {
          tip: string;
          paths: string[];
        };
        const stamps = leaves.map((l) => new Timestamp(l));
        const tip = makeMerkleTree(stamps);
        tip.attestations.add(new PendingAttestation('merkle'));
        assert.equal(toHex(tip.msg), answer.tip);
        assert.deepEqual(
          stamps.map((s) => toHex(s.toBytes())),
          answer.paths,
        );
        assert.equal(toHex(new MerkleTree(leaves).root), answer.tip);
      }
    });
  });
});
