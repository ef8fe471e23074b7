/** The index's databases: clear() empties every one that exists on disk, whichever view owns it. */
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { Calendar } from '../../src/calendar/calendar.js';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { catchUpIndex } from '../../src/index/catch-up.js';
import { IndexConsistencyError } from '../../src/index/errors.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { encodeDelegationPayload } from '../../src/journal/delegation-payload.js';
import { encodeDonationPayload } from '../../src/journal/donation-payload.js';
import { Journal } from '../../src/journal/journal.js';
import { encodeOfferPayload } from '../../src/journal/offer-payload.js';
import { encodeProofPayload } from '../../src/journal/proof-payload.js';
import { RecordKind } from '../../src/journal/record.js';
import { encodeStampEndPayload, StampOutcome } from '../../src/journal/stamp-end-payload.js';
import { encodeStampPayload } from '../../src/journal/stamp-payload.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  PendingAttestation,
  sha256,
  Timestamp,
} from '../../src/ots/index.js';
import { DiskFullFaultInjector } from '../helpers/disk-full-fault-injector.js';
import { buildDonation, donorKey, madeUpCoin } from '../helpers/donation.js';
import { indexContents } from '../helpers/index-contents.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const key = walletKeyFromPrivate(new Uint8Array(32).fill(1), NETWORKS.regtest);

/**
 * A calendar whose index has something in every database: two chunks, a proof, pending commitments
 * (one seen twice), a stamp ended and one in flight, a delegation, an offer and a donation.
 */
async function calendarWithEveryKindOfRecord(dataDir: string): Promise<void> {
  const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14788', create: true });
  const commitments = Array.from({ length: CHUNK_RECORDS + 10 }, (_, i) =>
    sha256(new Uint8Array([i >> 8, i])),
  );
  for (const c of commitments) await calendar.commit(c);
  // a commitment seen twice
  await calendar.commit(commitments[0] as Uint8Array);
  const proved = commitments.slice(0, 100);
  const tip = new Timestamp(new MerkleTree(proved.map((c) => sha256(c))).root);
  tip.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
  await calendar.addProof(
    proved.map((_, i) => i),
    tip,
  );
  // the duplicate proven: a proof kept apart from the runs of first proofs
  const again = new Timestamp(sha256(commitments[0] as Uint8Array));
  again.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
  await calendar.addProof([commitments.length], again);
  // a stamp abandoned (its end sets the stamp-ends flag), and one in flight
  for (const [input, stamped] of [
    [1, [100, 101]],
    [2, [100, 101, 102]],
  ] as const) {
    const built = buildStampTx({
      input: { txid: sha256(new Uint8Array([input])), index: 0, value: 100_000n },
      tip: new MerkleTree(stamped.map((n) => sha256(commitments[n] as Uint8Array))).root,
      feeRate: 2,
      lockTime: 800_001,
      key,
    });
    await calendar.journal.append(
      RecordKind.Stamp,
      encodeStampPayload({ commitments: [...stamped], fee: Number(built.fee), rawTx: built.raw }),
    );
  }
  const [abandoned] = calendar.index.openStamps();
  await calendar.journal.append(
    RecordKind.StampEnd,
    encodeStampEndPayload({ stamp: abandoned?.number as number, outcome: StampOutcome.Abandoned }),
  );
  const delegated = [103, 104];
  const answer = new Timestamp(
    new MerkleTree(delegated.map((n) => sha256(commitments[n] as Uint8Array))).root,
  );
  answer.attestations.add(new PendingAttestation('https://master.example.org'));
  await calendar.journal.append(
    RecordKind.Delegation,
    encodeDelegationPayload({
      commitments: delegated,
      height: 800_001,
      master: 'https://master.example.org',
      answer,
    }),
  );
  const offered = [105, 106];
  const offeredTip = new MerkleTree(offered.map((n) => sha256(commitments[n] as Uint8Array))).root;
  await calendar.journal.append(
    RecordKind.Offer,
    encodeOfferPayload({ commitments: offered, tip: offeredTip, height: 800_002 }),
  );
  const donor = donorKey(new Uint8Array(32).fill(2), NETWORKS.regtest);
  await calendar.journal.append(
    RecordKind.Donation,
    encodeDonationPayload({
      commitments: offered,
      height: 800_002,
      fee: 400,
      rawTx: buildDonation(donor, { coin: madeUpCoin('p2wpkh', 1), tip: offeredTip }),
    }),
  );
  // the chain follower's saved scan (its bytes do not matter to the index)
  await calendar.index.chainScan.save(new Uint8Array([1, 2, 3]));
  await calendar.close();
}

describe('calendar index', () => {
  it('clear() leaves every database of the environment empty but the format version and the acknowledged floor', async (t) => {
    const dataDir = tempDir(t);
    await calendarWithEveryKindOfRecord(dataDir);
    const path = join(dataDir, 'index');
    const before = await indexContents(path);
    assert.ok(before.size > 0);
    for (const [name, entries] of before) assert.notEqual(entries.length, 0, `${name} is empty before`);

    for (const forgetAcknowledged of [false, true]) {
      const index = CalendarIndex.open(path, join(dataDir, 'journal'));
      const acknowledged = index.acknowledged?.number;
      index.clear({ forgetAcknowledged });
      assert.equal(index.applied.number, 0);
      assert.equal(index.acknowledged?.number, forgetAcknowledged ? undefined : acknowledged);
      await index.close();
      const after = await indexContents(path);
      assert.deepEqual([...after.keys()], [...before.keys()]);
      for (const [name, entries] of after) {
        const kept = name === 'meta' ? (forgetAcknowledged ? 1 : 2) : 0;
        assert.equal(entries.length, kept, `${name} after clear: ${entries.join(', ')}`);
      }
    }
  });

  it('leads every leaf of a proof to its tip by the merkle path, as applied and after a reindex', async (t) => {
    const dir = tempDir(t);
    const journal = await Journal.open({ dir: join(dir, 'journal'), create: true });
    const index = CalendarIndex.open(join(dir, 'index'), join(dir, 'journal'));
    journal.onAppend((records) => index.apply(records));
    // levels of 100, 50, 25, 13, 7, 4, 2 and 1 nodes: several blocks of a level, and odd ends
    const commitments = Array.from({ length: 100 }, (_, i) => sha256(new Uint8Array([i])));
    const numbers = [];
    for (const c of commitments) numbers.push((await journal.append(RecordKind.Commitment, c)).number);
    const tip = new MerkleTree(commitments.map((c) => sha256(c))).root;
    const attested = new Timestamp(tip);
    attested.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
    const proof = await journal.append(
      RecordKind.Proof,
      encodeProofPayload({ commitments: numbers, tip: attested }),
    );
    const pathsLeadToTip = () => {
      for (const [leaf, c] of commitments.entries()) {
        let msg = sha256(c);
        for (const op of index.merklePath(proof.number, leaf)) msg = op.call(msg);
        assert.deepEqual(msg, tip, `leaf ${leaf}`);
      }
    };
    pathsLeadToTip();
    index.clear();
    await catchUpIndex(index, journal);
    pathsLeadToTip();
    await journal.close();
    await index.close();
  });

  it('reads back commitments in any order, and those appended after a read reached the journal end', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14788', create: true });
    try {
      const c = (i: number) => Buffer.from(sha256(new Uint8Array([3, i])));
      for (let i = 0; i < 40; i++) await calendar.commit(c(i));
      // forward in small steps (one pass goes on), back, and far
      for (const n of [0, 1, 5, 20, 21, 3, 39, 2]) assert.deepEqual(calendar.index.commitmentAt(n), c(n));
      // the last read ran to the journal's end: what is appended after it is read all the same
      for (let i = 40; i < 45; i++) {
        await calendar.commit(c(i));
        assert.deepEqual(calendar.index.commitmentAt(i), c(i), `record ${i}`);
      }
      assert.equal(calendar.index.commitmentAt(45), undefined);
    } finally {
      await calendar.close();
    }
  });

  it('never reads back the bytes of a write the journal cut back after a failure', async (t) => {
    const dir = tempDir(t);
    const files = new DiskFullFaultInjector();
    const journal = await Journal.open({
      dir: join(dir, 'journal'),
      create: true,
      files,
      retryDelays: { firstMs: 10, maxMs: 50 },
    });
    const index = CalendarIndex.open(join(dir, 'index'), join(dir, 'journal'));
    try {
      let fillAfter = -1;
      journal.onAppend(
        (records) => {
          index.apply(records);
          if (records.at(-1)?.number === fillAfter) files.fill();
        },
        () => catchUpIndex(index, journal),
      );
      const c = (tag: number, i: number) => sha256(new Uint8Array([tag, i]));
      for (let i = 0; i < 9; i++) await journal.append(RecordKind.Commitment, c(1, i));
      // record 9 is applied, then the disk fills: the next group is half written, then cut back
      fillAfter = 9;
      const refused = [
        journal.append(RecordKind.Commitment, c(1, 9)),
        ...Array.from({ length: 10 }, (_, i) => journal.append(RecordKind.Commitment, c(2, i))),
      ];
      await Promise.allSettled(refused);
      // a lookup during the outage reads the journal, and its reader reads ahead into the cut bytes
      assert.equal(index.lookup(c(1, 8)).state, 'pending');
      files.free();
      await waitFor('the journal writable again', () => (journal.unavailable ? undefined : true));
      const other = c(3, 0);
      const { number } = await journal.append(RecordKind.Commitment, other);
      assert.equal(number, 10);
      assert.deepEqual(index.lookup(other), { state: 'pending', record: 10 });
    } finally {
      await index.close();
      await journal.close();
    }
  });

  it('catch-up refuses an index ahead of the journal instead of emptying it', async (t) => {
    const older = tempDir(t);
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14788', create: true });
    for (let i = 0; i < 30; i++) {
      if (i === 10) cpSync(join(dataDir, 'journal'), join(older, 'journal'), { recursive: true });
      await calendar.commit(new Uint8Array(32).fill(i));
    }
    await calendar.close();
    rmSync(join(dataDir, 'journal'), { recursive: true });
    cpSync(join(older, 'journal'), join(dataDir, 'journal'), { recursive: true });
    const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    await assert.rejects(
      catchUpIndex(index, journal),
      (e) =>
        e instanceof IndexConsistencyError && /applied 30 records, but the journal holds 10/.test(e.message),
    );
    assert.equal(index.applied.number, 30);
    await journal.close();
    await index.close();
  });
});
