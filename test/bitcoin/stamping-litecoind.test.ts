/**
 * Stamping end to end on a real litecoind regtest node (Bitcoin Core 0.21's RPC and replace-by-fee):
 * a first version, a replacement on every block that did not include it, covering the digests that
 * came meanwhile at a higher fee, then the proof of the version that confirmed, checked by
 * python-opentimestamps against the node's block header.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RecordKind } from '../../src/journal/record.js';
import { decodeStampEndPayload, StampOutcome } from '../../src/journal/stamp-end-payload.js';
import { decodeStampPayload } from '../../src/journal/stamp-payload.js';
import {
  DetachedTimestampFile,
  fromHex,
  OpSHA256,
  parseTransaction,
  reverseBytes,
  toHex,
} from '../../src/ots/index.js';
import { runCli } from '../cli/run-cli.js';
import { runPython } from '../clients/run-client.js';
import { allProved, startLitecoinCalendar } from '../helpers/litecoin-calendar.js';
import { litecoindUnavailable } from '../helpers/litecoind.js';
import { recordsOf } from '../helpers/record-fields.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

describe('stamping on litecoind', () => {
  it('replaces the transaction on each block until one confirms, and proves that version', async (t) => {
    if (!requireTools(t, litecoindUnavailable(), oracleUnavailable())) return;
    const { ltc, node, miner, mempool, postDigest, explain } = await startLitecoinCalendar(t);
    const commitments = [await postDigest(), await postDigest()];
    const sent: string[] = [
      await waitFor('the first version in the mempool', async () => (await mempool())[0]),
    ];
    for (let bump = 0; bump < 3; bump++) {
      commitments.push(await postDigest());
      // a block without our transaction: the stamper must replace it
      await ltc.rpc.call('generateblock', miner, []);
      const previous = sent.at(-1);
      sent.push(
        await waitFor('a replacement', async () => {
          const txids = await mempool();
          return txids.length === 1 && txids[0] !== previous ? txids[0] : undefined;
        }),
      );
    }
    assert.equal(new Set(sent).size, 4, 'four versions, each replacing the last');
    const fees = await Promise.all(
      [sent.at(-1)].map((txid) =>
        ltc.rpc.call<{ fees: { base: number }; vsize: number }>('getmempoolentry', txid),
      ),
    );
    assert.ok(
      ((fees[0]?.fees.base ?? 0) * 1e8) / (fees[0]?.vsize ?? 1) > 75,
      'the last version pays the bumped rate',
    );

    const minedHeight = (await ltc.rpc.call<number>('getblockcount')) + 1;
    await ltc.rpc.call('generatetoaddress', 2, miner);
    await waitFor('every commitment proved', () => allProved(node, commitments), 30_000, explain);
    const mined = await ltc.rpc.call<{ tx: string[] }>(
      'getblock',
      await ltc.rpc.call('getblockhash', minedHeight),
      1,
    );
    assert.ok(mined.tx.includes(sent.at(-1) as string), 'the last version is the one mined');

    const verified = (await runPython('python_verify.py', [node.url, ltc.rpcUrl, ...commitments])) as {
      verified: { height: number; header: string }[];
    }[];
    assert.deepEqual(
      verified.map((v) => v.verified.map((x) => x.height)),
      commitments.map(() => [minedHeight]),
    );
    // and otsd verify accepts the proof of a commitment against the node's header
    const commitment = fromHex(commitments[0] as string);
    const found = await node.calendar.lookup(commitment);
    assert.equal(found.state, 'found');
    if (found.state === 'found') {
      const path = join(tempDir(t), 'commitment.ots');
      writeFileSync(path, new DetachedTimestampFile(new OpSHA256(), found.timestamp).toBytes());
      const header = verified[0]?.verified[0]?.header as string;
      const result = runCli(['verify', path, '--header', header, '--digest', commitments[0] as string]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, new RegExp(`Success! Bitcoin block ${minedHeight} attests existence`));
    }
    assert.equal(node.calendar.index.openStamps().length, 0);
    // the stamp ends with its own record, after the proof, naming the version mined
    const records = await recordsOf(node.calendar.journal);
    const [proof, end] = records.slice(-2);
    assert.equal(proof?.kind, RecordKind.Proof);
    assert.equal(end?.kind, RecordKind.StampEnd);
    const ended = decodeStampEndPayload(end.payload);
    assert.equal(ended.outcome, StampOutcome.Mined);
    const stamped = records[ended.stamp] as { kind: number; payload: Uint8Array };
    assert.equal(stamped.kind, RecordKind.Stamp);
    assert.equal(
      toHex(reverseBytes(parseTransaction(decodeStampPayload(stamped.payload).rawTx).txid)),
      sent.at(-1),
    );
    const status = node.anchoring?.status();
    assert.equal(status?.inFlight, undefined);
    assert.ok((status?.feesSpentSats ?? 0) > 0);
  });
});
