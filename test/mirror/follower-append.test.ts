/**
 * What the follower makes of its appends (both found by an outside review of the journal taking a
 * chunk's records as one run): the commitments it counts as held are those appended, not those of a
 * chunk that failed midway; and a group the journal chained anew (something else appended meanwhile)
 * is refused at its first record.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Calendar } from '../../src/calendar/calendar.js';
import { RecordKind } from '../../src/journal/record.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { MirrorIntegrityError } from '../../src/mirror/integrity-error.js';
import { JournalFollower } from '../../src/mirror/journal-follower.js';
import { proveRecords, startTestNode } from '../helpers/calendar-node.js';
import { startForgingUpstream } from '../helpers/forging-upstream.js';
import { serveMadeUpJournal } from '../helpers/made-up-journal.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the follower appends', () => {
  it('counts as held only the commitments it appended, through syncs that failed midway', async (t) => {
    const upstream = await startTestNode(t);
    const first = upstream.calendar.journal.head.records;
    await Promise.all(
      Array.from({ length: 10 }, () => upstream.calendar.commit(crypto.getRandomValues(new Uint8Array(32)))),
    );
    await proveRecords(
      upstream,
      Array.from({ length: 5 }, (_, i) => first + i),
    );
    const local = await Calendar.open({
      dataDir: tempDir(t),
      uri: 'https://mirror.example.org',
      create: true,
    });
    t.after(() => local.close());
    // the proof's header cannot be checked yet: its chunk fails after its commitments verified
    let headersReady = false;
    const follower = new JournalFollower({
      upstream: upstream.url,
      calendar: local,
      checkHeader: async () => {
        if (!headersReady) throw new Error('headers not reachable yet');
      },
    });
    // the count bounds what a proof may cover (verify-record.ts): it is the follower's own
    const held = () => (follower as unknown as { heldCommitments: number | undefined }).heldCommitments;
    for (let attempt = 0; attempt < 3; attempt++) {
      await assert.rejects(follower.syncOnce(), /headers not reachable yet/);
      assert.equal(local.journal.head.records, 0);
      assert.equal(held() ?? 0, 0, `after failed sync ${attempt + 1}`);
    }
    headersReady = true;
    await follower.syncOnce();
    assert.equal(local.journal.head.records, upstream.calendar.journal.head.records);
    assert.equal(held(), local.index.commitmentCount);
  });

  it('refuses a group the journal chained anew, at its first record, and keeps what came before', async (t) => {
    const upstream = await startForgingUpstream(t, 'http://127.0.0.1:9');
    // two groups: 32,768 records, then the rest
    const records: [number, Uint8Array][] = Array.from({ length: 40_000 }, (_, i) => [
      RecordKind.Commitment,
      new Uint8Array([i >> 16, i >> 8, i, 7, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
    ]);
    serveMadeUpJournal(upstream, records);
    const dataDir = tempDir(t);
    const local = await Calendar.open({ dataDir, uri: 'https://mirror.example.org', create: true });
    // another record, appended as the first group is: written after it, before the second
    let appended = false;
    local.journal.onAppend((batch) => {
      if (appended || batch.length < 1000) return;
      appended = true;
      void local.journal.append(RecordKind.Commitment, new Uint8Array(32).fill(0xab));
    });
    const follower = new JournalFollower({
      upstream: upstream.url,
      calendar: local,
      checkHeader: async () => {},
    });
    await assert.rejects(
      follower.syncOnce(),
      (e) =>
        e instanceof MirrorIntegrityError &&
        /^record 32769: appended with another chain hash/.test(e.message),
    );
    await local.close();
    const verified = await verifyJournal(join(dataDir, 'journal'));
    assert.deepEqual([verified.ok, verified.records], [true, 40_001]);
  });
});
