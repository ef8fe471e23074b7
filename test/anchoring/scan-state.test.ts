/** The saved chain scan: what is written reads back the same; anything else is refused with the reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeScanState,
  encodeScanState,
  type ScanState,
  ScanStateError,
} from '../../src/anchoring/scan-state.js';
import { fromHex } from '../../src/ots/index.js';

const hash = (c: string) => c.repeat(64);
const output = {
  txid: fromHex(hash('1')),
  index: 1,
  value: 5_000_000_000n,
  script: fromHex('0014751e76e8199196d454941c45d1b3a323f1433bd6'),
  height: 100,
  coinbase: true,
};
const state: ScanState = {
  scripts: ['0014751e76e8199196d454941c45d1b3a323f1433bd6'],
  origin: 0,
  tip: { height: 101, hash: hash('b') },
  outputs: [output],
  mined: [{ txid: hash('2'), block: { height: 101, hash: hash('b') } }],
  paying: [{ script: `6a20${hash('7')}`, txid: hash('3'), block: { height: 101, hash: hash('b') } }],
  undo: [
    {
      block: { height: 100, hash: hash('a') },
      prev: hash('9'),
      created: [`${hash('1')}:1`],
      spent: [],
      mined: [],
      paying: [],
    },
    {
      block: { height: 101, hash: hash('b') },
      prev: hash('a'),
      created: [],
      spent: [output],
      mined: [hash('2')],
      paying: [`6a20${hash('7')}:${hash('3')}`],
    },
  ],
};

const json = () => JSON.parse(new TextDecoder().decode(encodeScanState(state))) as Record<string, unknown>;
const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('chain scan state', () => {
  it('reads back what was written, below genesis included', () => {
    assert.deepEqual(decodeScanState(encodeScanState(state)), state);
    const fresh: ScanState = {
      ...state,
      origin: 0,
      tip: { height: -1, hash: '' },
      outputs: [],
      mined: [],
      paying: [],
      undo: [],
    };
    assert.deepEqual(decodeScanState(encodeScanState(fresh)), fresh);
  });

  it('reads a state an older otsd saved (no paying transactions) as one that found none', () => {
    const older = json();
    delete older.paying;
    older.undo = (older.undo as Record<string, unknown>[]).map(({ paying: _, ...u }) => u);
    const read = decodeScanState(bytes(older));
    assert.deepEqual(read.paying, []);
    assert.deepEqual(
      read.undo.map((u) => u.paying),
      [[], []],
    );
  });

  it('refuses a state that is not one, saying what is wrong', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['not JSON', new TextEncoder().encode('{"scripts":'), /not JSON/],
      ['not UTF-8', new Uint8Array([0xff, 0xfe]), /not JSON/],
      ['a list', bytes([]), /the state is not an object/],
      ['no scripts', bytes({ ...json(), scripts: undefined }), /scripts is not a list/],
      ['a height below -1', bytes({ ...json(), origin: -2 }), /origin is not a height/],
      ['a tip without a hash', bytes({ ...json(), tip: { height: 5 } }), /hash is not a block hash/],
      ['a short hash', bytes({ ...json(), tip: { height: 5, hash: 'abcd' } }), /hash is not a block hash/],
      [
        'an amount as a number',
        bytes({ ...json(), outputs: [{ ...(json().outputs as object[])[0], value: 5 }] }),
        /value is not an amount/,
      ],
      [
        'an odd script',
        bytes({ ...json(), outputs: [{ ...(json().outputs as object[])[0], script: 'abc' }] }),
        /script is not a script/,
      ],
      [
        'an empty txid',
        bytes({ ...json(), mined: [{ txid: '', block: { height: 1, hash: hash('c') } }] }),
        /txid is not a txid/,
      ],
      [
        'a paying transaction without its script',
        bytes({ ...json(), paying: [{ txid: hash('3'), block: { height: 1, hash: hash('c') } }] }),
        /script is not a script/,
      ],
      [
        'a bad outpoint',
        bytes({ ...json(), undo: [{ ...(json().undo as object[])[0], created: ['xyz'] }] }),
        /not an outpoint/,
      ],
    ];
    for (const [name, input, expected] of cases) {
      assert.throws(
        () => decodeScanState(input),
        (e: unknown) => e instanceof ScanStateError && expected.test(e.message),
        name,
      );
    }
  });
});
