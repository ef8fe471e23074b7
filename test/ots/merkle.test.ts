import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CryptOp,
  catSha256,
  catSha256d,
  catThenUnaryOp,
  concatBytes,
  MerkleTree,
  MsgValueError,
  makeMerkleTree,
  OpAppend,
  OpArgValueError,
  OpKECCAK256,
  OpPrepend,
  OpRIPEMD160,
  OpSHA1,
  OpSHA256,
  OtsValueError,
  PendingAttestation,
  sha256,
  Timestamp,
  toHex,
  Writer,
} from 'otsd/ots';

const utf8 = (s: string) => new TextEncoder().encode(s);

// Roots for leaves bytes([i]) for i < n, from python-opentimestamps' test_timestamp.py.
const ROOTS = [
  '00',
  'b413f47d13ee2fe6c845b2ee141af81de858df4ec549a58b7970bb96645bc8d2',
  'e6aa639123d8aac95d13d365ec3779dade4b49c083a8fed97d7bfc0d89bb6a5e',
  '7699a4fdd6b8b6908a344f73b8f05c8e1400f7253f544602c442ff5c65504b24',
  'aaa9609d0c949fee22c1c941a4432f32dc1c2de939e4af25207f0dc62df0dbd8',
  'ebdb4245f648b7e77b60f4f8a99a6d0529d1d372f98f35478b3284f16da93c06',
  'ba4603a311279dea32e8958bfb660c86237157bf79e6bfee857803e811d91b8f',
];

const leaves = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array([i]));

/** The message reached by applying `ops` in order. */
const follow = (msg: Uint8Array, ops: { call(m: Uint8Array): Uint8Array }[]) =>
  ops.reduce((m, op) => op.call(m), msg);

describe('catSha256', () => {
  it('hashes left ‖ right and records it in both', () => {
    const left = new Timestamp(utf8('foo'));
    const right = new Timestamp(utf8('bar'));
    const tip = catSha256(left, right);
    assert.equal(toHex(tip.msg), 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2');
    assert.deepEqual(
      [...left.ops].map(([op]) => String(op)),
      ['append 626172'],
    );
    assert.deepEqual(
      [...right.ops].map(([op]) => String(op)),
      ['prepend 666f6f'],
    );
    // both edges lead to the same node
    assert.equal([...left.ops][0]?.[1], [...right.ops][0]?.[1]);
  });
  it('catSha256d hashes twice', () => {
    const tip = catSha256d(utf8('foo'), utf8('bar'));
    assert.equal(tip.msg.byteLength, 32);
    assert.notEqual(toHex(tip.msg), 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2');
  });
});

/**
 * python-opentimestamps' cat_then_unary_op through the public API, as catThenUnaryOp did before it
 * left the joined node's message to be computed when read: the model its trees are held to.
 */
function catThenUnaryOpModel(op: CryptOp, l: Timestamp, r: Timestamp): Timestamp {
  const joined = r.ops.add(new OpPrepend(l.msg));
  l.ops.set(new OpAppend(r.msg), joined);
  return joined.ops.add(op);
}

/** Every node below `roots`, each once, in the order a walk first reaches it. */
function nodesBelow(roots: Timestamp[]): Timestamp[] {
  const seen = new Set<Timestamp>();
  const walk = (node: Timestamp) => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const [, child] of node.ops) walk(child);
  };
  for (const root of roots) walk(root);
  return [...seen];
}

describe('catThenUnaryOp (the joined node computes its message when first read)', () => {
  const leafArb = fc.uint8Array({ minLength: 1, maxLength: 48 });
  const cryptOps = [new OpSHA256(), new OpSHA1(), new OpRIPEMD160(), new OpKECCAK256()];

  it('builds the trees of the reference, leaves taken twice and trees built twice over the same leaves included', () => {
    fc.assert(
      fc.property(
        fc.array(leafArb, { minLength: 1, maxLength: 24 }),
        fc.array(fc.nat(23), { maxLength: 6 }),
        fc.constantFrom(...cryptOps),
        fc.boolean(),
        (raw, repeats, op, deepestFirst) => {
          const build = (cat: typeof catThenUnaryOpModel) => {
            const stamps = raw.map((l) => new Timestamp(l));
            // the same Timestamp twice in a list, and a second tree over leaves that have one
            const list = [...stamps, ...repeats.map((i) => stamps[i % stamps.length] as Timestamp)];
            const tips = [makeMerkleTree(list, (l, r) => cat(op, l, r))];
            tips.push(makeMerkleTree([...list].reverse(), (l, r) => cat(op, l, r)));
            return { stamps, tips };
          };
          const ours = build(catThenUnaryOp);
          const model = build(catThenUnaryOpModel);
          const ourNodes = nodesBelow(ours.stamps);
          const modelNodes = nodesBelow(model.stamps);
          assert.equal(ourNodes.length, modelNodes.length);
          const order = ourNodes.map((_, i) => (deepestFirst ? ourNodes.length - 1 - i : i));
          for (const i of order) {
            assert.equal(toHex((ourNodes[i] as Timestamp).msg), toHex((modelNodes[i] as Timestamp).msg));
          }
          ours.tips.forEach((tip, i) => {
            assert.equal(toHex(tip.msg), toHex((model.tips[i] as Timestamp).msg));
          });
          ours.stamps.forEach((stamp, i) => {
            stamp.attestations.add(new PendingAttestation('x'));
            (model.stamps[i] as Timestamp).attestations.add(new PendingAttestation('x'));
            assert.ok(stamp.equals(model.stamps[i] as Timestamp));
          });
          for (const tip of [...ours.tips, ...model.tips])
            tip.attestations.add(new PendingAttestation('tip'));
          ours.stamps.forEach((stamp, i) => {
            assert.equal(toHex(stamp.toBytes()), toHex((model.stamps[i] as Timestamp).toBytes()));
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the joined node is a timestamp like any other once built: ops added to it, its message read last', () => {
    const left = new Timestamp(utf8('foo'));
    const right = new Timestamp(utf8('bar'));
    const tip = catSha256(left, right);
    const joined = left.ops.get(new OpAppend(utf8('bar'))) as Timestamp;
    assert.equal(right.ops.get(new OpPrepend(utf8('foo'))), joined);
    assert.equal(joined.ops.get(new OpSHA256()), tip);
    const other = joined.ops.add(new OpAppend(utf8('!')));
    assert.equal(toHex(other.msg), toHex(utf8('foobar!')));
    assert.equal(toHex(joined.msg), toHex(utf8('foobar')));
    assert.throws(() => joined.ops.set(new OpSHA1(), new Timestamp(utf8('foobar'))), OtsValueError);
  });

  it('refuses what the reference refuses, leaving both timestamps as the public ops would', () => {
    const cases: [Uint8Array, Uint8Array, new (...args: never[]) => Error][] = [
      [new Uint8Array(4000), new Uint8Array(97), MsgValueError], // left ‖ right over 4096 bytes
      [new Uint8Array(0), utf8('bar'), OpArgValueError], // prepend of an empty left
      [utf8('foo'), new Uint8Array(0), OpArgValueError], // append of an empty right, after right's prepend child
    ];
    for (const [leftMsg, rightMsg, error] of cases) {
      const ours = [new Timestamp(leftMsg), new Timestamp(rightMsg)] as const;
      const model = [new Timestamp(leftMsg), new Timestamp(rightMsg)] as const;
      assert.throws(() => catSha256(...ours), error);
      assert.throws(() => catThenUnaryOpModel(new OpSHA256(), ...model), error);
      ours.forEach((stamp, i) => {
        const theirs = model[i] as Timestamp;
        assert.deepEqual(
          [...stamp.ops].map(([op, child]) => `${op} ${toHex(child.msg)}`),
          [...theirs.ops].map(([op, child]) => `${op} ${toHex(child.msg)}`),
        );
      });
    }
  });
});

describe('makeMerkleTree', () => {
  ROOTS.forEach((root, i) => {
    it(`${i + 1} leaves`, () => {
      const stamps = leaves(i + 1).map((l) => new Timestamp(l));
      const tip = makeMerkleTree(stamps);
      assert.equal(toHex(tip.msg), root);
      assert.equal(toHex(new MerkleTree(leaves(i + 1)).root), root);
    });
  });
  it('needs at least one leaf', () => {
    assert.throws(() => makeMerkleTree([]), OtsValueError);
    assert.throws(() => new MerkleTree([]), OtsValueError);
  });
});

describe('MerkleTree paths', () => {
  it('every leaf path reaches the root and equals the ops makeMerkleTree records', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 70 }),
        (raw) => {
          const tree = new MerkleTree(raw);
          const stamps = raw.map((l) => new Timestamp(l));
          const tip = makeMerkleTree(stamps);
          assert.equal(toHex(tree.root), toHex(tip.msg));
          raw.forEach((leaf, i) => {
            const path = tree.path(i);
            assert.equal(toHex(follow(leaf, path)), toHex(tree.root));
            // walk the timestamp along the same ops
            let node: Timestamp | undefined = stamps[i];
            for (const op of path) node = node?.ops.get(op);
            assert.equal(node, tip);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
  it('writePath writes the bytes of the path ops', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 70 }),
        (raw) => {
          const tree = new MerkleTree(raw);
          raw.forEach((_, i) => {
            const ops = new Writer();
            for (const op of tree.path(i)) op.write(ops);
            const written = new Writer();
            tree.writePath(i, written);
            assert.equal(toHex(written.toBytes()), toHex(ops.toBytes()));
          });
        },
      ),
      { numRuns: 100 },
    );
  });
  it('hashes pairs of any length, longer than an op may take among them, and shorter ones after', () => {
    const big = [new Uint8Array(3000).fill(1), new Uint8Array(3000).fill(2)];
    assert.equal(toHex(new MerkleTree(big).root), toHex(sha256(concatBytes(...big))));
    const small = leaves(2);
    assert.equal(toHex(new MerkleTree(small).root), toHex(sha256(concatBytes(...small))));
    assert.equal(toHex(new MerkleTree(big).root), toHex(sha256(concatBytes(...big))));
  });
  it('refuses an index out of range', () => {
    assert.throws(() => new MerkleTree(leaves(3)).path(3), RangeError);
    assert.throws(() => new MerkleTree(leaves(3)).path(-1), RangeError);
    assert.throws(() => new MerkleTree(leaves(3)).writePath(3, new Writer()), RangeError);
  });
});
