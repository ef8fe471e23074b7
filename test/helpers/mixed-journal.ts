/**
 * A journal holding every kind of record a calendar writes, made up at random from a seed: commitments
 * of 20, 32 and 64 bytes, some seen twice; proofs of recent commitments, of some far back and of the
 * first three again; stamps, stamp ends, delegations, offers and donations. For tests that compare
 * two ways of reading or indexing it.
 */
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { encodeDelegationPayload } from '../../src/journal/delegation-payload.js';
import { encodeDonationPayload } from '../../src/journal/donation-payload.js';
import { Journal } from '../../src/journal/journal.js';
import { MerkleLevels } from '../../src/journal/merkle-levels.js';
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
import { buildDonation, donorKey, madeUpCoin } from './donation.js';

const key = walletKeyFromPrivate(new Uint8Array(32).fill(1), NETWORKS.regtest);
const donor = donorKey(new Uint8Array(32).fill(2), NETWORKS.regtest);

/** A linear congruential generator: the same numbers for the same seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The journal at `dir`, made with `n` commitments in segments of `segmentBytes`, and its commitments by record. */
export async function mixedJournal(
  dir: string,
  n: number,
  segmentBytes: number,
  seed: number,
): Promise<{ journal: Journal; commitments: Map<number, Uint8Array> }> {
  const journal = await Journal.open({ dir, create: true, maxSegmentBytes: segmentBytes });
  const random = rng(seed);
  const commitments = new Map<number, Uint8Array>();
  let unproven: number[] = [];
  let made = 0;
  const stamps: number[] = [];
  while (made < n) {
    const group: Uint8Array[] = [];
    const size = 1 + Math.floor(random() * 200);
    for (let j = 0; j < size; j++) {
      const len = random() < 0.05 ? 20 : random() < 0.05 ? 64 : 32;
      let c = sha256(new Uint8Array([made >> 16, made >> 8, made, seed])).subarray(0, Math.min(32, len));
      if (len === 64) c = Buffer.concat([c, c]);
      // duplicates of an earlier commitment
      if (random() < 0.02 && commitments.size > 0) c = commitments.get(Math.floor(random() * made)) ?? c;
      group.push(c);
      made++;
    }
    const rs = await Promise.all(group.map((c) => journal.append(RecordKind.Commitment, c)));
    rs.forEach((r, j) => {
      const c = group[j] as Uint8Array;
      if (!commitments.has(r.number)) commitments.set(r.number, c);
      unproven.push(r.number);
    });
    const roll = random();
    if (roll < 0.5 && unproven.length > 0) {
      // a proof over a random subset (ascending) of unproven, some far back
      const pool = random() < 0.85 ? unproven.slice(-150) : unproven;
      const chosen = pool.filter(() => random() < 0.6);
      if (chosen.length > 0) {
        const leaves = chosen.map((x) => commitments.get(x) as Uint8Array);
        const tip = new Timestamp(MerkleLevels.of(leaves, leaves.length).root);
        tip.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
        await journal.append(RecordKind.Proof, encodeProofPayload({ commitments: chosen, tip }));
        const set = new Set(chosen);
        unproven = unproven.filter((x) => !set.has(x));
      }
    } else if (roll < 0.6 && unproven.length > 2) {
      const stamped = unproven.slice(-2);
      const built = buildStampTx({
        input: { txid: sha256(new Uint8Array([made >> 8, made])), index: 0, value: 100_000n },
        tip: new MerkleTree(stamped.map((x) => sha256(commitments.get(x) as Uint8Array))).root,
        feeRate: 2,
        lockTime: 800_001,
        key,
      });
      const s = await journal.append(
        RecordKind.Stamp,
        encodeStampPayload({ commitments: stamped, fee: Number(built.fee), rawTx: built.raw }),
      );
      stamps.push(s.number);
    } else if (roll < 0.65 && stamps.length > 0) {
      const s = stamps.shift() as number;
      await journal.append(
        RecordKind.StampEnd,
        encodeStampEndPayload({ stamp: s, outcome: StampOutcome.Abandoned }),
      );
    } else if (roll < 0.7 && unproven.length > 2) {
      const delegated = unproven.slice(0, 2);
      const answer = new Timestamp(
        new MerkleTree(delegated.map((x) => sha256(commitments.get(x) as Uint8Array))).root,
      );
      answer.attestations.add(new PendingAttestation('https://master.example.org'));
      await journal.append(
        RecordKind.Delegation,
        encodeDelegationPayload({
          commitments: delegated,
          height: 800_001,
          master: 'https://master.example.org',
          answer,
        }),
      );
    } else if (roll < 0.75 && unproven.length > 2) {
      const offered = unproven.slice(1, 3);
      const tip = new MerkleTree(offered.map((x) => sha256(commitments.get(x) as Uint8Array))).root;
      await journal.append(
        RecordKind.Offer,
        encodeOfferPayload({ commitments: offered, tip, height: 800_002 }),
      );
      await journal.append(
        RecordKind.Donation,
        encodeDonationPayload({
          commitments: offered,
          height: 800_002,
          fee: 400,
          rawTx: buildDonation(donor, { coin: madeUpCoin('p2wpkh', 1), tip }),
        }),
      );
    } else if (roll < 0.78) {
      // a proof of the first few commitments again (far behind)
      const early = [0, 1, 2];
      const leaves = early.map((x) => commitments.get(x) as Uint8Array);
      const tip = new Timestamp(MerkleLevels.of(leaves, 3).root);
      tip.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
      await journal.append(RecordKind.Proof, encodeProofPayload({ commitments: early, tip }));
    }
  }
  return { journal, commitments };
}
