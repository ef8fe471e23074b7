/**
 * Which proofs cover each commitment, the index's against the journal's, both ways. A damaged run of
 * first proofs (proof-runs.ts) or reference kept apart passed every other check, and then a lookup
 * threw (a leaf or proof record changed) or answered pending a commitment the journal proves (a run
 * cut short), until `otsd reindex`. The journal's way (`coveredProblem`, for each proof record read):
 * each commitment record it covers has that proof, at that leaf, among the proofs the index holds for
 * its commitment (under its first record); a run that matches answers for all its records at once.
 * The index's way (`heldProblem`): each reference it holds is one a proof record of the journal gives.
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CalendarIndex } from './calendar-index.js';
import type { ProofCoverage, ProofLeaves } from './proof-coverage.js';

/** Records compared between turns of the event loop: a few LMDB reads each. */
const REFERENCES_PER_TURN = 256;

/**
 * What is wrong with the index's references to proof record `proof`, whose leaves are `leaves`, or
 * undefined: one it lacks, named by the commitment record (the proof record named by the caller).
 */
export async function coveredProblem(
  index: CalendarIndex,
  proof: number,
  leaves: ProofLeaves,
): Promise<string | undefined> {
  let leaf = 0;
  let compared = 0;
  for (const { first, count } of leaves.ranges) {
    const end = first + count;
    for (let n = first; n < end; ) {
      const at = leaf + (n - first);
      if (++compared % REFERENCES_PER_TURN === 0) await nextTurn();
      const run = index.proofRunHolding(n);
      if (run && run.proof === proof && run.leaf + (n - run.first) === at) {
        // consecutive records at consecutive leaves, in the range and the run alike
        n = Math.min(run.first + run.count, end);
        continue;
      }
      const held = index.firstRecordOf(n);
      if (!index.proofsHeld(held).some((r) => r.proof === proof && r.leaf === at)) {
        const under = held === n ? '' : ` (whose commitment record ${held} holds first)`;
        return `its leaf ${at} is commitment record ${n}, and the index does not hold that proof for record ${n}${under}`;
      }
      n++;
    }
    leaf += count;
  }
  return undefined;
}

/**
 * What is wrong with the proof references the index holds, or undefined: a run or a reference kept
 * apart that no proof record of the journal gives, named by its record. The references are read a
 * few hundred at a time as the index has them then (proofs go on being applied meanwhile): a proof
 * record `coverage` has not taken is read from the journal with `readProofsSince` (those the index
 * applied since), and is damage if it is no proof even then. Returns undefined once `stopping()`.
 */
export async function heldProblem(
  index: CalendarIndex,
  coverage: ProofCoverage,
  readProofsSince: () => Promise<void>,
  stopping: () => boolean,
): Promise<string | undefined> {
  const leavesOf = async (proof: number) => {
    if (!coverage.leaves(proof)) await readProofsSince();
    return coverage.leaves(proof);
  };
  for (let start = 0; !stopping(); await nextTurn()) {
    const runs = index.proofRunsFrom(start, REFERENCES_PER_TURN);
    if (runs.length === 0) break;
    for (const { first, count, proof, leaf } of runs) {
      const leaves = await leavesOf(proof);
      const at = leaves?.at(leaf);
      if (!at || at.record !== first || at.left < count) {
        const what = `the index holds records ${first}-${first + count - 1} at leaves ${leaf}-${leaf + count - 1} of record ${proof}`;
        if (!leaves) return `record ${first}: ${what}, which is no proof record in the journal`;
        return `record ${first}: ${what}, while the journal's proof has ${at ? `record ${at.record} at leaf ${leaf}, then ${at.left} consecutive records` : `${leaves.ranges.length} ranges, ending before leaf ${leaf}`}`;
      }
      const duplicate = index.duplicateFrom(first);
      if (duplicate !== undefined && duplicate < first + count)
        return `record ${duplicate}: the index holds a run of first proofs over it, while its commitment is held first by record ${index.firstRecordOf(duplicate)}`;
    }
    start = (runs.at(-1) as { first: number }).first + 1;
  }
  for (let start = 0; !stopping(); await nextTurn()) {
    const kept = index.proofsKeptApartFrom(start, REFERENCES_PER_TURN);
    if (kept.length === 0) break;
    for (const { first, proofs } of kept) {
      for (const { proof, leaf } of proofs) {
        const leaves = await leavesOf(proof);
        const at = leaves?.at(leaf);
        if (!at || index.firstRecordOf(at.record) !== first) {
          const journal = !leaves
            ? 'which is no proof record in the journal'
            : at
              ? `while the journal's proof has commitment record ${at.record} there`
              : "past the journal's proof's leaves";
          return `record ${first}: the index holds leaf ${leaf} of record ${proof} among its commitment's proofs, ${journal}`;
        }
      }
    }
    start = (kept.at(-1) as { first: number }).first + 1;
  }
  return undefined;
}
