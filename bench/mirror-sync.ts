/**
 * One initial sync of a mirror in a process of its own, as a mirror runs: `node mirror-sync.js DIR
 * UPSTREAM` syncs the mirror in DIR from UPSTREAM, then prints `synced N records in S s`. The
 * bench's proofs are made up, so no attestation is checked. bench/mirror.ts runs it: in the process
 * that had just built a million records through the calendar, the sync ran some 5-15 % slower
 * (a heap and V8's feedback shaped by that work, which no mirror carries).
 */
import { performance } from 'node:perf_hooks';
import { openMirror } from '../src/mirror/index.js';

const [dir, upstream] = process.argv.slice(2);
if (!dir || !upstream) throw new Error('usage: mirror-sync.js DIR UPSTREAM');
const mirror = await openMirror({ dir, upstream, insecureSkipAttestationCheck: true });
try {
  const t0 = performance.now();
  const records = await mirror.sync();
  console.log(`synced ${records} records in ${((performance.now() - t0) / 1000).toFixed(3)} s`);
} finally {
  await mirror.close();
}
