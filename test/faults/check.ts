/**
 * The checker: which acknowledged digests a calendar no longer knows. Asked over HTTP, as a client
 * upgrading would (GET /timestamp/<commitment>: a proof or "Pending confirmation" keeps it, "Not found"
 * loses it), or read from a stopped node's data dir, as a restart would open it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Calendar } from '../../src/calendar/calendar.js';
import { Journal } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { toHex } from '../../src/ots/index.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import type { Ack } from './load.js';

/** The acknowledged digests whose commitment the calendar at `url` answers "Not found" (or not at all). */
export async function lostOverHttp(url: string, acks: Ack[]): Promise<Ack[]> {
  const known = new Map<string, boolean>();
  const commitments = [...new Set(acks.map((a) => a.commitment))];
  for (let i = 0; i < commitments.length; i += 32) {
    await Promise.all(
      commitments.slice(i, i + 32).map(async (commitment) => {
        const res = await fetch(`${url}/timestamp/${commitment}`);
        const text = res.status === 200 ? '' : await res.text();
        known.set(commitment, res.status === 200 || text === 'Pending confirmation in Bitcoin blockchain');
      }),
    );
  }
  return acks.filter((a) => !known.get(a.commitment));
}

/**
 * The acknowledged digests whose commitment is missing from the journal or the index of the stopped
 * node's `dataDir`. The journal must verify (a kill may leave a torn last record, cut off on open and
 * never acknowledged), and open for a writer afterwards.
 */
export async function lostInDataDir(dataDir: string, acks: Ack[]): Promise<Ack[]> {
  assert.deepEqual((await verifyJournal(join(dataDir, 'journal'))).errors, []);
  const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:1' });
  const inJournal = new Set<string>();
  for await (const record of calendar.journal.read()) {
    if (record.kind === RecordKind.Commitment) inJournal.add(toHex(record.payload));
  }
  const lost = acks.filter(
    (a) =>
      !inJournal.has(a.commitment) ||
      calendar.index.lookup(Buffer.from(a.commitment, 'hex')).state === 'unknown',
  );
  await calendar.close();
  assert.equal((await verifyJournal(join(dataDir, 'journal'))).ok, true);
  const journal = await Journal.open({ dir: join(dataDir, 'journal') });
  await journal.close();
  return lost;
}

/**
 * The acknowledged digests lost (their digest, once each): as the node started again on the stopped
 * `dataDir` with `args` answers them, then, stopped, as its data dir holds them.
 */
export async function lostAfterRestart(
  dataDir: string,
  port: number,
  args: string[],
  acks: Ack[],
): Promise<Set<string>> {
  const calendar = await startCalendarProcess(dataDir, args, port);
  const lost = new Set<string>();
  try {
    for (const a of await lostOverHttp(calendar.url, acks)) lost.add(a.digest);
  } finally {
    await calendar.stop('SIGTERM');
  }
  for (const a of await lostInDataDir(dataDir, acks)) lost.add(a.digest);
  return lost;
}
