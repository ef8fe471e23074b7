/**
 * `otsd run --embedded-regtest` (what `npm start` runs) end to end on bcoin: digests from the Python
 * reference client become pending, are mined, and come back as complete proofs that
 * python-opentimestamps and `otsd verify` check against the node's block header. Then the same with
 * SIGKILLs at random moments while stamping: every acknowledged digest still gets its proof.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bcoinChainDir, RPC_URL_FILE } from '../../src/bitcoin/embedded-bcoin.js';
import { Journal } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { decodeStampPayload } from '../../src/journal/stamp-payload.js';
import {
  DetachedTimestampFile,
  fromHex,
  OpSHA256,
  PendingAttestation,
  parseTransaction,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { runCli } from '../cli/run-cli.js';
import { runPython } from '../clients/run-client.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { embeddedBcoinMissing, requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const requireNodes = (t: TestContext) => requireTools(t, embeddedBcoinMissing(), oracleUnavailable());

const python = runPython;

describe('stamping on the embedded bcoin regtest node', () => {
  it('a digest from the Python client upgrades to a proof that python-opentimestamps and otsd verify accept', async (t) => {
    if (!requireNodes(t)) return;
    const dataDir = tempDir(t);
    const calendar = await startCalendarProcess(dataDir, FAST_EMBEDDED_REGTEST);
    t.after(() => calendar.stop());
    const submitted = await python('python_client.py', [calendar.url, 'submit', '3']);
    const commitments = submitted.map((s) => s.commitment as string);

    const answers = await waitFor(
      'Bitcoin proofs',
      async () => {
        const got = await python('python_client.py', [calendar.url, 'get', ...commitments]);
        return got.every((g) => Array.isArray(g.heights) && g.heights.length === 1) ? got : undefined;
      },
      90_000,
    );

    const rpcUrl = readFileSync(join(bcoinChainDir(dataDir), RPC_URL_FILE), 'utf8').trim();
    const verified = await python('python_verify.py', [calendar.url, rpcUrl, ...commitments]);
    for (const v of verified) assert.equal((v.verified as unknown[]).length, 1);

    // the client's file: its submit answer with the calendar's proof merged under the pending attestation
    const first = submitted[0] as { digest: string; timestamp: string; commitment: string };
    const digest = fromHex(first.digest);
    const file = new DetachedTimestampFile(
      new OpSHA256(),
      Timestamp.fromBytes(digest, fromHex(first.timestamp)),
    );
    const pending = file.timestamp.shortestPathTo((a) => a instanceof PendingAttestation);
    let node = file.timestamp;
    for (const op of pending?.ops ?? []) node = node.ops.get(op) as Timestamp;
    node.merge(Timestamp.fromBytes(fromHex(first.commitment), fromHex(answers[0]?.timestamp as string)));
    const path = join(dataDir, 'digest.ots');
    writeFileSync(path, file.toBytes());
    const header = (verified[0]?.verified as { header: string; height: number }[] | undefined)?.[0];
    const result = runCli(['verify', path, '--header', header?.header as string, '--digest', first.digest]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`Success! Bitcoin block ${header?.height} attests existence as of \\d{4}-\\d\\d-\\d\\d UTC`),
    );

    const status = (await (
      await fetch(calendar.url, { headers: { accept: 'application/json' } })
    ).json()) as { anchoring: { regtest_demo: boolean; network: string } };
    assert.equal(status.anchoring.regtest_demo, true);
    assert.match(await (await fetch(`${calendar.url}/status`)).text(), /regtest demo/);
    assert.equal(await calendar.stop('SIGTERM'), 0);
  });

  it('loses no acknowledged digest and spends no output twice across SIGKILLs while stamping', async (t) => {
    if (!requireNodes(t)) return;
    const dataDir = tempDir(t);
    const port = await freePort();
    const acked: string[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const calendar = await startCalendarProcess(dataDir, FAST_EMBEDDED_REGTEST, port);
      let stop = false;
      const posting = (async () => {
        while (!stop) {
          const digest = crypto.getRandomValues(new Uint8Array(32));
          try {
            const res = await fetch(`${calendar.url}/digest`, {
              method: 'POST',
              body: digest,
              signal: AbortSignal.timeout(5000),
            });
            if (res.status === 200) {
              const found = Timestamp.fromBytes(
                digest,
                new Uint8Array(await res.arrayBuffer()),
              ).shortestPathTo((a) => a instanceof PendingAttestation);
              acked.push(toHex(found?.msg as Uint8Array));
            }
          } catch {
            // killed
          }
          await sleep(20);
        }
      })();
      await sleep(1500 + Math.random() * 2500);
      calendar.child.kill('SIGKILL');
      await calendar.stop();
      stop = true;
      await posting;
    }
    const calendar = await startCalendarProcess(dataDir, FAST_EMBEDDED_REGTEST, port);
    t.after(() => calendar.stop());
    await waitFor(
      'proofs of every acknowledged digest',
      async () => {
        for (const c of acked) {
          if ((await fetch(`${calendar.url}/timestamp/${c}`)).status !== 200) return undefined;
        }
        return true;
      },
      120_000,
    );
    assert.equal(await calendar.stop('SIGTERM'), 0);

    // every stamping version spends the input of its chain: versions of different chains never share one
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    const inputOwners = new Map<string, Set<string>>();
    let chain = 0;
    for await (const record of journal.read()) {
      if (record.kind === RecordKind.Proof) chain++;
      if (record.kind !== RecordKind.Stamp) continue;
      const tx = parseTransaction(decodeStampPayload(record.payload).rawTx);
      const input = `${toHex(tx.inputs[0]?.prevTxid as Uint8Array)}:${tx.inputs[0]?.prevIndex}`;
      inputOwners.set(input, (inputOwners.get(input) ?? new Set()).add(String(chain)));
    }
    await journal.close();
    for (const [input, chains] of inputOwners)
      assert.equal(chains.size, 1, `input ${input} used by more than one stamp`);
    assert.ok(acked.length > 10, `only ${acked.length} digests acknowledged`);
  });
});
