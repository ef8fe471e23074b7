import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BitcoinBlockHeaderAttestation,
  DeserializationError,
  DetachedTimestampFile,
  fromHex,
  MsgValueError,
  OpAppend,
  OpPrepend,
  OpSHA256,
  OtsValueError,
  PendingAttestation,
  RecursionLimitError,
  Timestamp,
  TrailingGarbageError,
  TruncationError,
  toHex,
} from 'otsd/ots';
import { serializedLength } from '../../src/ots/timestamp.js';
import { deepTimestampArb, timestampArb } from './arbitraries.js';
import { VECTORS_DIR } from './vectors.js';

const EMPTY = new Uint8Array();

// Exact bytes from python-opentimestamps' test_timestamp.py, checked against this machine's reference.
describe('timestamp serialization', () => {
  it('one attestation', () => {
    const t = new Timestamp(EMPTY);
    t.attestations.add(new PendingAttestation('foobar'));
    assert.equal(toHex(t.toBytes()), '0083dfe30d2ef90c8e0706666f6f626172');
  });
  it('several attestations: sorted, all but the last behind a fork marker', () => {
    const t = new Timestamp(EMPTY);
    t.attestations.add(new PendingAttestation('foobar'));
    t.attestations.add(new PendingAttestation('barfoo'));
    assert.equal(
      toHex(t.toBytes()),
      'ff0083dfe30d2ef90c8e0706626172666f6f0083dfe30d2ef90c8e0706666f6f626172',
    );
    t.ops.add(new OpSHA256()).attestations.add(new BitcoinBlockHeaderAttestation(0));
    const hex =
      'ff0083dfe30d2ef90c8e0706626172666f6fff0083dfe30d2ef90c8e0706666f6f62617208000588960d73d719010100';
    assert.equal(toHex(t.toBytes()), hex);
    assert.ok(Timestamp.fromBytes(EMPTY, fromHex(hex)).equals(t));
  });
  it('refuses to write an empty timestamp', () => {
    assert.throws(() => new Timestamp(EMPTY).toBytes(), OtsValueError);
  });
  it('reads children in any order and writes them canonically', () => {
    const bytesOut = 'ff0083dfe30d2ef90c8e0706626172666f6f0083dfe30d2ef90c8e0706666f6f626172';
    const bytesIn = 'ff0083dfe30d2ef90c8e0706666f6f6261720083dfe30d2ef90c8e0706626172666f6f';
    assert.equal(toHex(Timestamp.fromBytes(EMPTY, fromHex(bytesIn)).toBytes()), bytesOut);
  });
  it('a repeated op replaces the earlier subtree, as the reference does', () => {
    const t = Timestamp.fromBytes(EMPTY, fromHex('ff08000588960d73d7190101010800' + '0588960d73d719010102'));
    const child = t.ops.get(new OpSHA256());
    assert.deepEqual([...(child?.attestations ?? [])].map(String), ['BitcoinBlockHeaderAttestation(2)']);
  });
  it('refuses trailing bytes in fromBytes', () => {
    assert.throws(
      () => Timestamp.fromBytes(EMPTY, fromHex('0083dfe30d2ef90c8e0706666f6f62617200')),
      TrailingGarbageError,
    );
  });
  it('refuses a message over 4096 bytes', () => {
    assert.throws(() => new Timestamp(new Uint8Array(4097)), OtsValueError);
  });
});

describe('recursion limit', () => {
  const chain = (n: number) => fromHex(`${'08'.repeat(n)}000588960d73d719010100`);
  it('a path of 255 ops parses', () => {
    assert.doesNotThrow(() => Timestamp.fromBytes(EMPTY, chain(255)));
  });
  it('a path of 256 ops is refused', () => {
    assert.throws(() => Timestamp.fromBytes(EMPTY, chain(256)), RecursionLimitError);
  });
});

describe('parse errors are typed and placed', () => {
  it('truncation', () => {
    assert.throws(() => Timestamp.fromBytes(EMPTY, EMPTY), TruncationError);
    assert.throws(
      () => Timestamp.fromBytes(EMPTY, fromHex('08')),
      (e) => e instanceof TruncationError && e.offset === 1,
    );
  });
  it('an op that cannot apply to its message', () => {
    assert.throws(
      () => Timestamp.fromBytes(EMPTY, fromHex('f2000588960d73d719010100')),
      (e) =>
        e instanceof DeserializationError &&
        /message invalid for op reverse/.test(e.message) &&
        e.offset === 0,
    );
  });
  it('a parse that would materialize too many message bytes', () => {
    // 64 forks of "append 4000 bytes": 64 * 4000 bytes of messages from 256 kB of input
    const branch = (i: number) =>
      `f0a01f${i.toString(16).padStart(2, '0').repeat(4000)}000588960d73d719010100`;
    const hex = Array.from({ length: 64 }, (_, i) => (i < 63 ? `ff${branch(i)}` : branch(i))).join('');
    assert.doesNotThrow(() => Timestamp.fromBytes(EMPTY, fromHex(hex)));
    assert.throws(
      () => Timestamp.fromBytes(EMPTY, fromHex(hex), { maxMessageBytes: 100_000 }),
      /size budget/,
    );
  });
});

describe('tree operations', () => {
  const msg = fromHex('01');
  const build = (height: number, uri: string) => {
    const t = new Timestamp(msg);
    t.ops.add(new OpSHA256()).attestations.add(new PendingAttestation(uri));
    t.ops
      .add(new OpAppend(fromHex('02')))
      .ops.add(new OpSHA256())
      .attestations.add(new BitcoinBlockHeaderAttestation(height));
    return t;
  };

  it('merge forms the union and keeps what both have once', () => {
    const a = build(10, 'a');
    const b = build(11, 'b');
    a.merge(b);
    assert.deepEqual([...a.allAttestations()].map(([, att]) => String(att)).sort(), [
      'BitcoinBlockHeaderAttestation(10)',
      'BitcoinBlockHeaderAttestation(11)',
      "PendingAttestation('a')",
      "PendingAttestation('b')",
    ]);
    assert.equal(a.ops.size, 2);
    a.merge(build(10, 'a'));
    assert.equal([...a.allAttestations()].length, 4);
  });

  it('merge refuses another message', () => {
    assert.throws(() => new Timestamp(msg).merge(new Timestamp(fromHex('02'))), OtsValueError);
  });

  it('allAttestations gives each with the message it attests', () => {
    for (const [attested, attestation] of build(1, 'a').allAttestations()) {
      const expected =
        attestation instanceof PendingAttestation
          ? new OpSHA256().call(msg)
          : new OpSHA256().call(new OpAppend(fromHex('02')).call(msg));
      assert.equal(toHex(attested), toHex(expected));
    }
  });

  it('shortestPathTo finds the path with the fewest ops to a kind', () => {
    const t = build(7, 'a');
    const btc = t.shortestPathTo((a) => a instanceof BitcoinBlockHeaderAttestation);
    assert.deepEqual(btc?.ops.map(String), ['append 02', 'sha256']);
    assert.equal(String(btc?.attestation), 'BitcoinBlockHeaderAttestation(7)');
    const pending = t.shortestPathTo((a) => a instanceof PendingAttestation);
    assert.deepEqual(pending?.ops.map(String), ['sha256']);
    assert.equal(
      new Timestamp(msg).shortestPathTo(() => true),
      undefined,
    );
  });

  it('ops.set refuses a child of another message', () => {
    const t = new Timestamp(msg);
    assert.throws(() => t.ops.set(new OpSHA256(), new Timestamp(msg)), OtsValueError);
  });

  it('ops.set checks an append or prepend child byte for byte, and the limits as op.call does', () => {
    const cases = [
      [new OpAppend(fromHex('0304')), fromHex('01020304')],
      [new OpPrepend(fromHex('0304')), fromHex('03040102')],
    ] as const;
    for (const [op, right] of cases) {
      assert.doesNotThrow(() => new Timestamp(fromHex('0102')).ops.set(op, new Timestamp(right)));
      const flipped = (at: number) => right.map((b, i) => (i === at ? b ^ 1 : b));
      const wrongs = [
        flipped(0),
        flipped(right.length - 1),
        right.subarray(1),
        new Uint8Array([...right, 0]),
      ];
      for (const wrong of wrongs) {
        assert.throws(
          () => new Timestamp(fromHex('0102')).ops.set(op, new Timestamp(wrong)),
          OtsValueError,
          `${op} ${toHex(wrong)}`,
        );
      }
    }
    const long = new Timestamp(new Uint8Array(4000));
    assert.throws(() => long.ops.set(new OpAppend(new Uint8Array(97)), new Timestamp(msg)), MsgValueError);
  });
});

describe('wide nodes (more children than the sets scan)', () => {
  const WIDE = 40;
  const arg = (i: number) => new Uint8Array([i]);

  it('ops: equal ops find one child, replace keeps its place, size counts distinct ops', () => {
    const t = new Timestamp(fromHex('01'));
    const children = Array.from({ length: WIDE }, (_, i) => t.ops.add(new OpAppend(arg(i))));
    assert.equal(t.ops.size, WIDE);
    children.forEach((child, i) => {
      assert.equal(t.ops.add(new OpAppend(arg(i))), child);
      assert.equal(t.ops.get(new OpAppend(arg(i))), child);
    });
    assert.equal(t.ops.get(new OpPrepend(arg(0))), undefined);
    const replaced = t.ops.replace(new OpAppend(arg(3)));
    assert.notEqual(replaced, children[3]);
    assert.equal(t.ops.size, WIDE);
    assert.equal([...t.ops][3]?.[1], replaced);
    t.ops.set(new OpAppend(arg(5)), new Timestamp(fromHex('0105')));
    assert.equal(t.ops.size, WIDE);
    assert.throws(() => t.ops.set(new OpAppend(arg(6)), new Timestamp(fromHex('0107'))), OtsValueError);
  });

  it('attestations: equal values collapse whichever instance asks', () => {
    const t = new Timestamp(fromHex('01'));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < WIDE; i++) {
        t.attestations.add(new BitcoinBlockHeaderAttestation(i));
        t.attestations.add(new PendingAttestation(`https://c${i}.example`));
      }
    }
    assert.equal(t.attestations.size, 2 * WIDE);
    assert.ok(t.attestations.has(new BitcoinBlockHeaderAttestation(WIDE - 1)));
    assert.ok(!t.attestations.has(new BitcoinBlockHeaderAttestation(WIDE)));
  });

  it('equals and merge hold across wide nodes', () => {
    const build = (order: number[]) => {
      const t = new Timestamp(fromHex('01'));
      for (const i of order)
        t.ops.add(new OpAppend(arg(i))).attestations.add(new BitcoinBlockHeaderAttestation(i));
      return t;
    };
    const up = Array.from({ length: WIDE }, (_, i) => i);
    const a = build(up);
    assert.ok(a.equals(build([...up].reverse())));
    assert.equal(toHex(a.toBytes()), toHex(build([...up].reverse()).toBytes()));
    const b = build(up.map((i) => i + WIDE / 2));
    a.merge(b);
    assert.equal(a.ops.size, WIDE + WIDE / 2);
    assert.equal([...a.allAttestations()].length, WIDE + WIDE / 2);
  });
});

describe('op sets of one edge, of two, and wide (the first edge is kept apart from the others)', () => {
  const msg = fromHex('01');
  const append = (i: number) => new OpAppend(new Uint8Array([i]));
  const edges = (t: Timestamp) => [...t.ops].map(([op, child]) => `${op}>${toHex(child.msg)}`);

  it('add, replace and set keep insertion order and positions, as a map from op values would', () => {
    // Ops from a small alphabet (more than SCAN_LIMIT of them, so sets go from one edge to two to
    // wide), each step checked against a Map keyed by the op's value.
    const step = fc.record({ kind: fc.constantFrom('add', 'replace', 'set'), op: fc.nat(11) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const t = new Timestamp(msg);
        const model = new Map<number, Timestamp>();
        for (const { kind, op } of steps) {
          const before = model.get(op);
          let child: Timestamp;
          if (kind === 'add') child = t.ops.add(append(op));
          else if (kind === 'replace') child = t.ops.replace(append(op));
          else {
            child = new Timestamp(append(op).call(msg));
            t.ops.set(append(op), child);
          }
          if (kind === 'add' && before) assert.equal(child, before);
          else assert.notEqual(child, before);
          model.set(op, child);
          assert.equal(t.ops.size, model.size);
        }
        assert.deepEqual(
          [...t.ops].map(([op, child]) => [String(op), child]),
          [...model].map(([op, child]) => [String(append(op)), child]),
        );
        for (const [op, child] of model) assert.equal(t.ops.get(append(op)), child);
        assert.equal(t.ops.get(new OpPrepend(new Uint8Array([0]))), undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('a replaced op keeps its position, first or not, and the set holds the op that replaced it', () => {
    const t = new Timestamp(msg);
    const first = t.ops.add(append(1));
    assert.deepEqual(edges(t), ['append 01>0101']);
    const second = t.ops.add(append(2));
    assert.deepEqual(edges(t), ['append 01>0101', 'append 02>0102']);
    const replacedFirst = t.ops.replace(append(1));
    assert.notEqual(replacedFirst, first);
    assert.deepEqual(
      [...t.ops].map(([, child]) => child),
      [replacedFirst, second],
    );
    const third = t.ops.add(append(3));
    const replacedSecond = t.ops.replace(append(2));
    assert.deepEqual(
      [...t.ops].map(([, child]) => child),
      [replacedFirst, replacedSecond, third],
    );
    const replacing = [append(1), append(2), append(3)];
    for (const op of replacing) t.ops.set(op, new Timestamp(op.call(msg)));
    for (const [i, [op]] of [...t.ops].entries())
      assert.equal(op, replacing[i], `the op at ${i} replaced it`);
    assert.deepEqual(edges(t), ['append 01>0101', 'append 02>0102', 'append 03>0103']);
    assert.equal(t.ops.size, 3);
  });

  it('iterating reaches an edge added while it runs, as iterating an array does', () => {
    const t = new Timestamp(msg);
    t.ops.add(append(1));
    const seen: string[] = [];
    for (const [op] of t.ops) {
      seen.push(String(op));
      if (seen.length < 3) t.ops.add(append(seen.length + 1));
    }
    assert.deepEqual(seen, ['append 01', 'append 02', 'append 03']);
  });

  it('sorted, equals, merge and toBytes do not depend on which edge came first', () => {
    const build = (order: number[]) => {
      const t = new Timestamp(msg);
      for (const i of order) t.ops.add(append(i)).attestations.add(new BitcoinBlockHeaderAttestation(i));
      return t;
    };
    const ab = build([1, 2]);
    const ba = build([2, 1]);
    assert.deepEqual(
      ab.ops.sorted().map(([op]) => String(op)),
      ['append 01', 'append 02'],
    );
    assert.deepEqual(
      ba.ops.sorted().map(([op]) => String(op)),
      ['append 01', 'append 02'],
    );
    assert.ok(ab.equals(ba) && ba.equals(ab));
    assert.equal(toHex(ab.toBytes()), toHex(ba.toBytes()));
    assert.ok(!ab.equals(build([1])) && !build([1]).equals(ab));
    assert.ok(!build([1]).equals(build([2])));
    const one = build([2]);
    one.merge(build([1]));
    assert.deepEqual(edges(one), ['append 02>0102', 'append 01>0101']);
    assert.ok(one.equals(ab));
    const merged = build([]);
    merged.merge(ba);
    assert.ok(merged.equals(ab));
    assert.equal(serializedLength(merged), merged.toBytes().length);
  });

  it('attestation sets of one, of two and wide iterate in insertion order and sort canonically', () => {
    const t = new Timestamp(msg);
    assert.deepEqual([...t.attestations], []);
    assert.deepEqual(t.attestations.sorted(), []);
    const heights = [5, 3, 9, 1, 7, 2, 8, 4, 6, 0, 11];
    for (const [i, height] of heights.entries()) {
      t.attestations.add(new BitcoinBlockHeaderAttestation(height));
      t.attestations.add(new BitcoinBlockHeaderAttestation(height));
      const added = heights.slice(0, i + 1);
      assert.equal(t.attestations.size, added.length);
      assert.deepEqual(
        [...t.attestations].map((a) => (a as BitcoinBlockHeaderAttestation).height),
        added,
      );
      assert.deepEqual(
        t.attestations.sorted().map((a) => (a as BitcoinBlockHeaderAttestation).height),
        [...added].sort((a, b) => a - b),
      );
    }
  });
});

describe('serializedLength', () => {
  it('is the exact length toBytes writes, which then allocates once and copies nothing', () => {
    fc.assert(
      fc.property(fc.oneof(timestampArb, deepTimestampArb), (t) => {
        assert.equal(serializedLength(t), t.toBytes().length);
      }),
      { numRuns: 300 },
    );
  });
});

/** Every node of `t`, root first, each parent before its children, children in canonical order. */
function nodesOf(t: Timestamp): Timestamp[] {
  const out: Timestamp[] = [];
  const walk = (node: Timestamp) => {
    out.push(node);
    for (const [, child] of node.ops.sorted()) walk(child);
  };
  walk(t);
  return out;
}

describe('parsed messages (computed when first read)', () => {
  it("are each op applied to its parent's message, whichever node is read first", () => {
    fc.assert(
      fc.property(fc.oneof(timestampArb, deepTimestampArb), fc.boolean(), (built, deepestFirst) => {
        const expected = nodesOf(built).map((node) => toHex(node.msg));
        const parsed = nodesOf(Timestamp.fromBytes(built.msg, built.toBytes()));
        const order = parsed.map((_, i) => (deepestFirst ? parsed.length - 1 - i : i));
        for (const i of order) assert.equal(toHex((parsed[i] as Timestamp).msg), expected[i]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('a parsed tree and the buffers it was parsed from', () => {
  it('takes only a Uint8Array (a Buffer among them): an Array, an ArrayBuffer or a number is a TypeError', () => {
    const file = readFileSync(`${VECTORS_DIR}/hello-world.txt.ots`);
    const { timestamp } = DetachedTimestampFile.fromBytes(file);
    const data = timestamp.toBytes();
    assert.equal(
      toHex(Timestamp.fromBytes(Buffer.from(timestamp.msg), Buffer.from(data)).toBytes()),
      toHex(data),
    );
    const wrong = [[...data], data.buffer, 32, null] as unknown as Uint8Array[];
    for (const bytes of wrong) {
      assert.throws(
        () => DetachedTimestampFile.fromBytes(bytes),
        /DetachedTimestampFile.fromBytes: expected a Uint8Array/,
      );
      assert.throws(
        () => Timestamp.fromBytes(timestamp.msg, bytes),
        /Timestamp.fromBytes bytes: expected a Uint8Array/,
      );
      assert.throws(() => Timestamp.fromBytes(bytes, data), /Timestamp.fromBytes msg: expected a Uint8Array/);
    }
  });

  it('does not follow them: fromBytes keeps copies of the input and the message', () => {
    const files = readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.ots'));
    for (const name of files) {
      const bytes = new Uint8Array(readFileSync(`${VECTORS_DIR}/${name}`));
      const file = DetachedTimestampFile.fromBytes(bytes);
      const original = DetachedTimestampFile.fromBytes(bytes.slice());
      const msg = original.timestamp.msg.slice();
      const data = original.timestamp.toBytes();
      const timestamp = Timestamp.fromBytes(msg, data);
      bytes.fill(0x55);
      msg.fill(0x55);
      data.fill(0x55);
      for (const parsed of [file.timestamp, timestamp]) {
        assert.equal(toHex(parsed.toBytes()), toHex(original.timestamp.toBytes()), name);
        assert.deepEqual(
          nodesOf(parsed).map((node) => toHex(node.msg)),
          nodesOf(original.timestamp).map((node) => toHex(node.msg)),
          name,
        );
      }
      assert.equal(toHex(file.toBytes()), toHex(original.toBytes()), name);
    }
  });
});
