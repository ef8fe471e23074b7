/**
 * How the index ends stamps, and the records that wait on commitments. A stamping transaction (its versions: stamp records
 * spending one input) ends with a stamp-end record, mined or abandoned; a proof from another source
 * ends none, even over the same commitments. A journal written before stamp-end records existed
 * (test/fixtures/journal-before-stamp-end, written by otsd at 85febef: stamps, a replacement, the proof
 * of the first version, a stamp still open) opens with the same answers as then. A delegation, an offer
 * or a donation stays open until every commitment it covers is proven, by any source.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bitcoinTipTimestamp } from '../../src/bitcoin/bitcoin-proof.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { Calendar } from '../../src/calendar/calendar.js';
import { encodeDelegationPayload } from '../../src/journal/delegation-payload.js';
import { encodeDonationPayload } from '../../src/journal/donation-payload.js';
import { encodeOfferPayload } from '../../src/journal/offer-payload.js';
import { RecordKind } from '../../src/journal/record.js';
import { encodeStampEndPayload, StampOutcome } from '../../src/journal/stamp-end-payload.js';
import { encodeStampPayload } from '../../src/journal/stamp-payload.js';
import { verifyJournal } from '../../src/journal/verify.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  PendingAttestation,
  parseTransaction,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { buildDonation, donorKey, madeUpCoin } from '../helpers/donation.js';
import { tempDir } from '../helpers/temp-dir.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/journal-before-stamp-end/', import.meta.url));
const URI = 'http://127.0.0.1:14788';
const key = walletKeyFromPrivate(new Uint8Array(32).fill(3), NETWORKS['litecoin-regtest']);
const donor = donorKey(new Uint8Array(32).fill(4), NETWORKS['litecoin-regtest']);

async function freshCalendar(dataDir: string, commitments: number): Promise<Calendar> {
  const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
  for (let i = 0; i < commitments; i++) await calendar.commit(sha256(new Uint8Array([0xc1, i])));
  return calendar;
}

const tipOf = (calendar: Calendar, records: number[]) =>
  new MerkleTree(records.map((n) => sha256(calendar.index.commitmentAt(n) as Uint8Array))).root;

/** Journals a version of a stamping transaction over `records`; returns its record number and tx. */
async function stamp(calendar: Calendar, records: number[], input: Uint8Array, feeRate: number) {
  const built = buildStampTx({
    input: { txid: input, index: 0, value: 1_000_000n },
    tip: tipOf(calendar, records),
    feeRate,
    lockTime: 300,
    key,
  });
  const stored = await calendar.journal.append(
    RecordKind.Stamp,
    encodeStampPayload({ commitments: records, fee: Number(built.fee), rawTx: built.raw }),
  );
  return { number: stored.number, raw: built.raw, txid: built.txid };
}

/** A proof of `records` through the transaction `raw`, mined alone in a block at `height`. */
function proofThrough(calendar: Calendar, records: number[], raw: Uint8Array, height: number) {
  const tx = parseTransaction(raw);
  const header = new Uint8Array(80);
  header.set(tx.txid, 36);
  return bitcoinTipTimestamp(tipOf(calendar, records), tx, { height, header, txids: [tx.txid] });
}

/** A proof of `records` through someone else's transaction (a master's): no txid of ours in it. */
function proofElsewhere(calendar: Calendar, records: number[], height: number): Timestamp {
  const tip = new Timestamp(tipOf(calendar, records));
  tip.ops
    .add(new OpAppend(new Uint8Array([0x5a])))
    .attestations.add(new BitcoinBlockHeaderAttestation(height));
  return tip;
}

const end = (calendar: Calendar, stampRecord: number, outcome: StampOutcome) =>
  calendar.journal.append(RecordKind.StampEnd, encodeStampEndPayload({ stamp: stampRecord, outcome }));

const openStamps = (calendar: Calendar) => calendar.index.openStamps().map((s) => s.number);

describe('the end of a stamp', () => {
  it('a journal written before stamp ends opens with the answers it had', async (t) => {
    const dataDir = tempDir(t);
    cpSync(join(FIXTURE, 'journal'), join(dataDir, 'journal'), { recursive: true });
    const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
      records: number;
      chainHash: string;
      openStamps: number[];
      pending: number[];
      stampFeesSince200: number;
      lastStampHeight: number;
      lookups: Record<string, string>;
    };
    assert.equal((await verifyJournal(join(dataDir, 'journal'))).ok, true);
    const calendar = await Calendar.open({ dataDir, uri: URI });
    t.after(() => calendar.close());
    assert.equal(calendar.journal.head.records, expected.records);
    assert.equal(toHex(calendar.journal.head.chainHash), expected.chainHash);
    assert.deepEqual(openStamps(calendar), expected.openStamps, 'the replaced and the mined versions ended');
    assert.deepEqual([...calendar.index.pendingRecords()], expected.pending);
    assert.equal(calendar.index.stampFeesSince(200), expected.stampFeesSince200);
    assert.equal(calendar.index.lastStampHeight(), expected.lastStampHeight);
    for (const [commitment, answer] of Object.entries(expected.lookups)) {
      const found = await calendar.lookup(Buffer.from(commitment, 'hex'));
      assert.equal(found.state === 'found' ? toHex(found.timestamp.toBytes()) : found.state, answer);
    }
    // the open stamp of the old journal ends as new ones do
    await end(calendar, 8, StampOutcome.Abandoned);
    assert.deepEqual(openStamps(calendar), []);
  });

  it('ends every version of a transaction at its stamp end, mined or abandoned, and at nothing else', async (t) => {
    const calendar = await freshCalendar(tempDir(t), 4);
    t.after(() => calendar.close());
    const first = await stamp(calendar, [0, 1], new Uint8Array(32).fill(1), 10);
    const replacement = await stamp(calendar, [0, 1, 2], new Uint8Array(32).fill(1), 20);
    await end(calendar, first.number, StampOutcome.Abandoned);
    assert.deepEqual(openStamps(calendar), [], 'both versions spend one input: both end');

    const own = await stamp(calendar, [3], new Uint8Array(32).fill(2), 10);
    // a master's proof of the very same commitments: the own transaction is still in flight
    await calendar.addProof([3], proofElsewhere(calendar, [3], 500));
    assert.deepEqual(openStamps(calendar), [own.number]);
    // once the journal ends stamps explicitly, not even a proof through the stamp's own txid ends it
    await calendar.addProof([3], proofThrough(calendar, [3], own.raw, 501));
    assert.deepEqual(openStamps(calendar), [own.number]);
    await end(calendar, own.number, StampOutcome.Mined);
    assert.deepEqual(openStamps(calendar), []);
    // a stamp end naming a stamp already ended changes nothing
    await end(calendar, replacement.number, StampOutcome.Mined);
    assert.deepEqual(openStamps(calendar), []);
    assert.equal((await verifyJournal(calendar.journal.dir)).ok, true);
    // what a mirror asks of a stamp end's record: a stamp, in flight or ended, and nothing else
    assert.deepEqual(
      Array.from({ length: calendar.journal.head.records }, (_, n) => n).filter((n) =>
        calendar.index.isStampRecord(n),
      ),
      [first.number, replacement.number, own.number],
    );
  });

  it('verify-journal refuses a stamp end that names no earlier stamp', async (t) => {
    const calendar = await freshCalendar(tempDir(t), 1);
    await end(calendar, 0, StampOutcome.Mined);
    const dir = calendar.journal.dir;
    await calendar.close();
    const verified = await verifyJournal(dir);
    assert.equal(verified.ok, false);
    assert.match(verified.errors.join('\n'), /record 1: stamp end names record 0, not a stamp/);
  });
});

/** How each kind of waiting record is written over `records`; and how the index lists the open ones. */
const waitingKinds: [
  string,
  (c: Calendar, records: number[]) => Promise<{ number: number }>,
  (c: Calendar) => { number: number }[],
][] = [
  [
    'delegations',
    (calendar, records) => {
      const tip = new Timestamp(tipOf(calendar, records));
      tip.ops
        .add(new OpAppend(new Uint8Array([1])))
        .attestations.add(new PendingAttestation('http://master'));
      return calendar.journal.append(
        RecordKind.Delegation,
        encodeDelegationPayload({ commitments: records, height: 10, master: 'http://master', answer: tip }),
      );
    },
    (calendar) => calendar.index.openDelegations(),
  ],
  [
    'offers',
    (calendar, records) =>
      calendar.journal.append(
        RecordKind.Offer,
        encodeOfferPayload({ commitments: records, tip: tipOf(calendar, records), height: 10 }),
      ),
    (calendar) => calendar.index.openOffers(),
  ],
  [
    'donations',
    (calendar, records) =>
      calendar.journal.append(
        RecordKind.Donation,
        encodeDonationPayload({
          commitments: records,
          height: 10,
          fee: 300,
          rawTx: buildDonation(donor, {
            coin: madeUpCoin('p2wpkh', records[0] ?? 0),
            tip: tipOf(calendar, records),
          }),
        }),
      ),
    (calendar) => calendar.index.openDonations(),
  ],
];

for (const [kind, write, open] of waitingKinds) {
  describe(`open ${kind}`, () => {
    it('stay open until every commitment they cover is proven, by any source, and reindex the same', async (t) => {
      const dataDir = tempDir(t);
      const calendar = await freshCalendar(dataDir, 4);
      const opened = () => open(calendar).map((d) => d.number);
      const a = await write(calendar, [0, 1]);
      const b = await write(calendar, [2, 3]);
      assert.deepEqual(opened(), [a.number, b.number]);
      await calendar.addProof([1, 2], proofElsewhere(calendar, [1, 2], 600));
      assert.deepEqual(opened(), [a.number, b.number], 'half proven');
      await calendar.addProof([0], proofElsewhere(calendar, [0], 601));
      assert.deepEqual(opened(), [b.number]);
      // a record of commitments proven meanwhile has nothing to wait for
      await write(calendar, [0, 1]);
      assert.deepEqual(opened(), [b.number]);
      await calendar.reindex();
      assert.deepEqual(opened(), [b.number]);
      await calendar.close();
      assert.equal((await verifyJournal(join(dataDir, 'journal'))).ok, true);
    });
  });
}
