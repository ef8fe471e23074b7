/**
 * What a mirror checks in the records of collaborative and external stamping, case by case: a
 * delegation's ranges, merkle tip, master URL and the shape of the master's answer (one
 * PendingAttestation, to any calendar: data, not a claim, so no header is asked for); a stamp end's
 * outcome and that it names an earlier stamp record; an offer's merkle tip; a donation's transaction
 * (the one shape donations have, committing to its commitments' tip); each kind's size limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { encodeDelegationPayload } from '../../src/journal/delegation-payload.js';
import { encodeDonationPayload } from '../../src/journal/donation-payload.js';
import { encodeOfferPayload } from '../../src/journal/offer-payload.js';
import { maxPayloadBytes, RecordKind } from '../../src/journal/record.js';
import { encodeStampEndPayload, StampOutcome } from '../../src/journal/stamp-end-payload.js';
import { verifyRecord } from '../../src/mirror/verify-record.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  PendingAttestation,
  sha256,
  Timestamp,
  Writer,
} from '../../src/ots/index.js';
import { buildDonation, type DonationOptions, donorKey, madeUpCoin } from '../helpers/donation.js';

const commitments = [0, 1, 2].map((i) => sha256(new Uint8Array([0xd0, i])));
const tip = new MerkleTree(commitments.map((c) => sha256(c))).root;
let headerChecks = 0;
const context = {
  commitmentAt: (n: number) => commitments[n],
  commitments: 3,
  isStampAt: (n: number) => n === 3,
  // the commitments starting with 0xee share their 6-byte prefix with MAX_SHARED_PREFIX others
  sharingPrefix: (c: Uint8Array, atMost: number) => (c[0] === 0xee ? atMost : 0),
  calendarUri: 'https://slave.example.org',
  checkHeader: async () => {
    headerChecks++;
  },
};

/** A master's answer for `msg`: an op, then the given attestations. */
function answer(msg: Uint8Array, ...attestations: (PendingAttestation | BitcoinBlockHeaderAttestation)[]) {
  const timestamp = new Timestamp(msg);
  const node = timestamp.ops.add(new OpAppend(new Uint8Array([7])));
  for (const a of attestations) node.attestations.add(a);
  return timestamp;
}

const delegation = (o: { records?: number[]; master?: string; answer?: Timestamp } = {}) =>
  encodeDelegationPayload({
    commitments: o.records ?? [0, 1, 2],
    height: 120,
    master: o.master ?? 'https://master.example.org',
    answer: o.answer ?? answer(tip, new PendingAttestation('https://master.example.org')),
  });

const offer = (o: { records?: number[]; tip?: Uint8Array } = {}) =>
  encodeOfferPayload({ commitments: o.records ?? [0, 1, 2], tip: o.tip ?? tip, height: 130 });

const donor = donorKey(new Uint8Array(32).fill(0x22), NETWORKS.regtest);
const donation = (o: Partial<DonationOptions> = {}) =>
  encodeDonationPayload({
    commitments: [0, 1, 2],
    height: 131,
    fee: 500,
    rawTx: buildDonation(donor, { coin: madeUpCoin('p2wpkh', 9), tip, lockTime: 130, ...o }),
  });

const record = (number: number, kind: number, payload: Uint8Array) => ({
  number,
  kind,
  payload,
  chainHash: new Uint8Array(32),
});

const valid: [string, number, Uint8Array][] = [
  ['a commitment', RecordKind.Commitment, sha256(new Uint8Array([9]))],
  [
    'a commitment sharing its 6-byte prefix with fewer than MAX_SHARED_PREFIX others',
    RecordKind.Commitment,
    new Uint8Array([0xed, ...new Uint8Array(31)]),
  ],
  ['a delegation', RecordKind.Delegation, delegation()],
  [
    'a delegation whose answer names another URI than the master URL (its public URI)',
    RecordKind.Delegation,
    delegation({ answer: answer(tip, new PendingAttestation('https://public-name.example.org')) }),
  ],
  [
    'a stamp end (mined)',
    RecordKind.StampEnd,
    encodeStampEndPayload({ stamp: 3, outcome: StampOutcome.Mined }),
  ],
  [
    'a stamp end (abandoned)',
    RecordKind.StampEnd,
    encodeStampEndPayload({ stamp: 3, outcome: StampOutcome.Abandoned }),
  ],
  ['an offer', RecordKind.Offer, offer()],
  ['a donation', RecordKind.Donation, donation()],
  [
    'a donation of version 3 with its OP_RETURN first',
    RecordKind.Donation,
    donation({ version: 3, opReturnFirst: true }),
  ],
];

const otherTip = sha256(new Uint8Array([1]));
const trailing = (payload: Uint8Array) => Buffer.concat([payload, new Uint8Array([0])]);
const outcome = (byte: number) => {
  const w = new Writer();
  w.writeVarUint(3);
  w.writeByte(byte);
  return w.toBytes();
};
const invalid: [string, number, Uint8Array, RegExp][] = [
  [
    'a commitment sharing its 6-byte prefix with MAX_SHARED_PREFIX others (the index would read them all on each lookup)',
    RecordKind.Commitment,
    new Uint8Array([0xee, ...new Uint8Array(31)]),
    /commitment ee0{62} shares its first 6 bytes with 8 others: not a calendar's round tip/,
  ],
  [
    'a delegation of a later record',
    RecordKind.Delegation,
    delegation({ records: [0, 1, 2, 5] }),
    /delegation record: a range reaches record 5, not before it/,
  ],
  [
    'a delegation whose tip is not the root of its commitments',
    RecordKind.Delegation,
    delegation({ answer: answer(otherTip, new PendingAttestation('https://master.example.org')) }),
    /delegation tip is not the merkle root of its commitments/,
  ],
  [
    'a delegation to something not a URL',
    RecordKind.Delegation,
    delegation({ master: 'file:///etc/passwd' }),
    /delegation names a master that is not an http\(s\) URL: "file:\/\/\/etc\/passwd"/,
  ],
  [
    'a delegation whose answer claims a Bitcoin attestation',
    RecordKind.Delegation,
    delegation({ answer: answer(tip, new BitcoinBlockHeaderAttestation(5)) }),
    /its answer has 1 attestations \(BitcoinBlockHeaderAttestation\(5\)\); a calendar's has one PendingAttestation/,
  ],
  [
    'a delegation whose answer has two attestations',
    RecordKind.Delegation,
    delegation({
      answer: answer(
        tip,
        new PendingAttestation('https://a.example.org'),
        new PendingAttestation('https://b.example.org'),
      ),
    }),
    /its answer has 2 attestations/,
  ],
  [
    'a truncated delegation',
    RecordKind.Delegation,
    delegation().subarray(0, 40),
    /Tried to read 26 bytes but only 3 remain/,
  ],
  [
    'a stamp end naming itself',
    RecordKind.StampEnd,
    encodeStampEndPayload({ stamp: 4, outcome: StampOutcome.Mined }),
    /stamp-end record: names record 4, not before it/,
  ],
  [
    'a stamp end naming a commitment',
    RecordKind.StampEnd,
    encodeStampEndPayload({ stamp: 0, outcome: StampOutcome.Abandoned }),
    /stamp end names record 0, not a stamp/,
  ],
  ['a stamp end of unknown outcome', RecordKind.StampEnd, outcome(3), /stamp-end record: unknown outcome 3/],
  [
    'a stamp end with trailing bytes',
    RecordKind.StampEnd,
    trailing(encodeStampEndPayload({ stamp: 3, outcome: StampOutcome.Mined })),
    /upstream record 4: .*(trailing|end)/i,
  ],
  [
    'an offer of a later record',
    RecordKind.Offer,
    offer({ records: [0, 4] }),
    /offer record: a range reaches record 4/,
  ],
  [
    'an offer whose tip is not the root of its commitments',
    RecordKind.Offer,
    offer({ tip: otherTip }),
    /offer tip is not the merkle root of its commitments/,
  ],
  [
    'a donation committing to another tip',
    RecordKind.Donation,
    donation({ tip: otherTip }),
    /donation does not commit to the merkle root of its commitments/,
  ],
  [
    'a donation of another shape (two inputs)',
    RecordKind.Donation,
    donation({ extraInputs: [madeUpCoin('p2wpkh', 10)] }),
    /rule 3 \(inputs\): 2 inputs/,
  ],
  [
    'a donation whose transaction does not parse',
    RecordKind.Donation,
    encodeDonationPayload({ commitments: [0, 1, 2], height: 1, fee: 1, rawTx: new Uint8Array([1, 2]) }),
    /upstream record 4: /,
  ],
  [
    'a stamp end over its size limit',
    RecordKind.StampEnd,
    new Uint8Array(maxPayloadBytes(RecordKind.StampEnd) + 1),
    /a payload of 17 bytes is over the 16-byte limit of its kind/,
  ],
];

describe('what a mirror checks in delegation, stamp-end, offer and donation records', () => {
  for (const [name, kind, payload] of valid) {
    it(`accepts ${name}, asking for no header`, async () => {
      const before = headerChecks;
      await verifyRecord(record(4, kind, payload), context);
      assert.equal(headerChecks, before);
    });
  }
  for (const [name, kind, payload, error] of invalid) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(verifyRecord(record(4, kind, payload), context), (e: Error) => {
        assert.equal(e.name, 'MirrorIntegrityError');
        assert.match(e.message, /^upstream record 4: /);
        assert.match(e.message, error);
        return true;
      });
    });
  }
});
