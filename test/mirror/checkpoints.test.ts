/**
 * The compiled-in checkpoints against real mainnet headers and against themselves, so that a typo
 * cannot slip in: the genesis period, checkpoints 0, 1 and 300 are the hashes of real headers, the
 * real headers after checkpoints 0 and 299 name them, every nBits matches the real headers' and
 * decodes to a target its checkpoint's hash meets; and the retarget rule matches Bitcoin Core's. No
 * other network has checkpoints: a mirror without a node checks mainnet only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainRules } from '../../src/mirror/checkpoints/index.js';
import {
  bitsFromTarget,
  nextPeriodBits,
  RETARGET_INTERVAL,
  targetFromBits,
} from '../../src/mirror/proof-of-work.js';
import { BlockHeader, reverseBytes, sha256d, toHex } from '../../src/ots/index.js';
import { mainnetHeader } from '../helpers/mainnet-headers.js';

const hashOf = (raw: Uint8Array) => toHex(sha256d(raw));
const main = chainRules('main');

describe('compiled-in checkpoints', () => {
  it('mainnet: real headers end periods 0, 1 and 300 and name the ends of periods 0 and 299', () => {
    assert.ok(main);
    const at = (k: number) => main.checkpoints[k] as { height: number; hash: string; bitsAfter?: number };
    assert.equal(
      new BlockHeader(mainnetHeader(0)).hashHex,
      '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    );
    for (const [k, height] of [
      [0, 2015],
      [1, 4031],
      [300, 606815],
    ] as const) {
      assert.equal(at(k).height, height);
      assert.equal(at(k).hash, hashOf(mainnetHeader(height)), `checkpoint ${k}`);
    }
    assert.equal(toHex(new BlockHeader(mainnetHeader(2016)).prevBlockHash), at(0).hash);
    assert.equal(toHex(new BlockHeader(mainnetHeader(604800)).prevBlockHash), at(299).hash);
    // nBits of a period is in the checkpoint before it
    assert.equal(at(0).bitsAfter, new BlockHeader(mainnetHeader(2016)).bits);
    assert.equal(at(299).bitsAfter, new BlockHeader(mainnetHeader(604800)).bits);
    assert.equal(at(368).bitsAfter, new BlockHeader(mainnetHeader(744014)).bits);
  });

  it('mainnet: every hash meets its period target, every nBits is canonical, heights end periods', () => {
    assert.ok(main);
    let bits = 0x1d00ffff;
    main.checkpoints.forEach((c, k) => {
      assert.equal(c.height, RETARGET_INTERVAL * (k + 1) - 1);
      assert.ok(
        BigInt(`0x${toHex(reverseBytes(Buffer.from(c.hash, 'hex')))}`) <= targetFromBits(bits),
        `${k}`,
      );
      assert.equal(bitsFromTarget(targetFromBits(c.bitsAfter)), c.bitsAfter, `${k}`);
      bits = c.bitsAfter;
    });
    assert.equal(main.checkpoints.at(-1)?.height, 897119);
  });

  it('no other network has any: there a header past the last checkpoint proves too little', () => {
    for (const network of ['test', 'signet', 'regtest', 'bcoin-regtest', 'litecoin-regtest', 'dogecoin'])
      assert.equal(chainRules(network), undefined);
  });

  it('targets are decoded from nBits and the retarget follows Bitcoin Core', () => {
    assert.equal(targetFromBits(0x1d00ffff), 0xffffn << 208n);
    assert.equal(targetFromBits(0x207fffff), 0x7fffffn << 232n);
    assert.equal(targetFromBits(0x03123456), 0x123456n);
    assert.equal(targetFromBits(0x02123456), 0x1234n);
    assert.equal(targetFromBits(0x04923456), 0n, 'negative');
    const limit = targetFromBits(0x1d00ffff);
    // Bitcoin Core's pow_tests get_next_work (blocks 30240 and 32255)
    assert.equal(nextPeriodBits({ bits: 0x1d00ffff, time: 1262152739 }, 1261130161, limit), 0x1d00d86a);
    // the real period 300 (604800..606815) set the nBits of period 301
    const first = new BlockHeader(mainnetHeader(604800));
    const last = new BlockHeader(mainnetHeader(606815));
    assert.equal(nextPeriodBits(last, first.time, limit), 387308498);
    assert.equal(main?.checkpoints[300]?.bitsAfter, 387308498);
  });
});
