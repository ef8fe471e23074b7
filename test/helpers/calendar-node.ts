/** otsd nodes in this process on a free loopback port, closed when the test ends; made-up proofs. */
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import {
  type CalendarNode,
  type CalendarNodeOptions,
  startCalendarNode,
} from '../../src/daemon/calendar-node.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  sha256,
  Timestamp,
} from '../../src/ots/index.js';
import { freePort } from './free-port.js';
import { tempDir } from './temp-dir.js';

/** A calendar (or, with `mirrorOf`, a mirror) with 20 ms rounds and no log; `options` override. */
export async function startTestNode(
  t: TestContext,
  options: Partial<CalendarNodeOptions> = {},
): Promise<CalendarNode> {
  const port = options.port ?? (await freePort());
  const node = await startCalendarNode({
    dataDir: tempDir(t),
    uri: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    roundIntervalMs: 20,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  t.after(() => node.close());
  return node;
}

/**
 * Writes a proof of the commitment records `records`, as the stamper would, ending in a Bitcoin
 * attestation at `height` that no real chain has: for tests that do not check headers.
 */
export async function proveRecords(node: CalendarNode, records: number[], height?: number): Promise<void> {
  const sorted = [...records].sort((a, b) => a - b);
  const first = sorted[0] as number;
  const root = new Timestamp(
    new MerkleTree(sorted.map((r) => sha256(node.calendar.index.commitmentAt(r) as Uint8Array))).root,
  );
  root.ops
    .add(new OpAppend(new Uint8Array([first % 256])))
    .attestations.add(new BitcoinBlockHeaderAttestation(height ?? 1000 + first));
  await node.calendar.addProof(sorted, root);
}

/** proveRecords for the records holding `commitments`. */
export async function proveCommitments(
  node: CalendarNode,
  commitments: Uint8Array[],
  height?: number,
): Promise<void> {
  const records = commitments.map((c) => {
    const found = node.calendar.index.lookup(c);
    if (found.state === 'unknown')
      throw new Error('proveCommitments: a commitment the calendar does not hold');
    return found.record;
  });
  await proveRecords(node, records, height);
}
