/**
 * Prefix queries on a calendar with a million commitments: the time of a range scan of each prefix
 * length next to a single commitment lookup on the same index, measured in the same run.
 *
 * Run: npm run bench:prefix   (builds the calendar first: about half a minute)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Calendar } from '../src/calendar/calendar.js';
import { toHex } from '../src/ots/index.js';

const COMMITMENTS = Number(process.env.BENCH_COMMITMENTS ?? 1_000_000);
const QUERIES = 200;

const dir = mkdtempSync(join(tmpdir(), 'otsd-bench-prefix-'));
try {
  const calendar = await Calendar.open({ dataDir: dir, uri: 'http://127.0.0.1:1', create: true });
  let t0 = performance.now();
  const sample: Uint8Array[] = [];
  for (let done = 0; done < COMMITMENTS; done += 10_000) {
    const batch = Array.from(
      { length: Math.min(10_000, COMMITMENTS - done) },
      () => new Uint8Array(randomBytes(32)),
    );
    sample.push(batch[0] as Uint8Array);
    await Promise.all(batch.map((c) => calendar.commit(c)));
  }
  console.log(
    `built a calendar of ${COMMITMENTS.toLocaleString('en-US')} commitments in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const time = async (run: (i: number) => Promise<unknown>) => {
    t0 = performance.now();
    for (let i = 0; i < QUERIES; i++) await run(i);
    return (performance.now() - t0) / QUERIES;
  };
  const single = await time((i) => calendar.lookup(sample[i % sample.length] as Uint8Array));
  console.log(`single lookup: ${(single * 1000).toFixed(0)} µs`);
  for (const nibbles of [2, 3, 4, 5, 6]) {
    let entries = 0;
    const ms = await time(async (i) => {
      const answer = await calendar.timestampsWithPrefix(
        toHex(sample[i % sample.length] as Uint8Array).slice(0, nibbles),
        1_000_000,
      );
      entries += answer?.length ?? 0;
    });
    const perEntry = entries ? (ms * 1000 * QUERIES) / entries : 0;
    console.log(
      `prefix of ${nibbles} hex digits: ${(entries / QUERIES).toFixed(1).padStart(7)} entries, ${ms.toFixed(2).padStart(8)} ms per query, ` +
        `${perEntry.toFixed(0)} µs per entry = ${(perEntry / (single * 1000)).toFixed(2)}x a single lookup`,
    );
  }
  await calendar.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
