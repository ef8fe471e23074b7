/** fast-check generators of timestamp trees covering every op, attestation kind and forks. */
import fc from 'fast-check';
import {
  type Attestation,
  BitcoinBlockHeaderAttestation,
  EthereumBlockHeaderAttestation,
  LitecoinBlockHeaderAttestation,
  MsgValueError,
  type Op,
  OpAppend,
  OpHexlify,
  OpKECCAK256,
  OpPrepend,
  OpReverse,
  OpRIPEMD160,
  OpSHA1,
  OpSHA256,
  PendingAttestation,
  Timestamp,
  toHex,
  UnknownAttestation,
} from 'otsd/ots';

const URI_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._/:'.split('');
const KNOWN_TAGS = new Set(['83dfe30d2ef90c8e', '0588960d73d71901', '06869a0d73d71b45', '30fe8087b5c7ead7']);

const height = fc.oneof(fc.nat(127), fc.nat(2 ** 32 - 1), fc.maxSafeNat());

export const attestationArb: fc.Arbitrary<Attestation> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...URI_CHARS), maxLength: 60 }).map((uri) => new PendingAttestation(uri)),
  height.map((h) => new BitcoinBlockHeaderAttestation(h)),
  height.map((h) => new LitecoinBlockHeaderAttestation(h)),
  height.map((h) => new EthereumBlockHeaderAttestation(h)),
  fc
    .tuple(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 80 }))
    .filter(([tag]) => !KNOWN_TAGS.has(toHex(tag)))
    .map(([tag, payload]) => new UnknownAttestation(tag, payload)),
);

const arg = fc.uint8Array({ minLength: 1, maxLength: 64 });
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom<Op>(
    new OpSHA1(),
    new OpRIPEMD160(),
    new OpSHA256(),
    new OpKECCAK256(),
    new OpReverse(),
    new OpHexlify(),
  ),
  arg.map((a) => new OpAppend(a)),
  arg.map((a) => new OpPrepend(a)),
);

interface NodeSpec {
  attestations: Attestation[];
  children: readonly [Op, NodeSpec][];
}

const { node: nodeSpecArb } = fc.letrec<{ node: NodeSpec }>((tie) => ({
  node: fc.record({
    attestations: fc.array(attestationArb, { maxLength: 3 }),
    children: fc.oneof(
      { maxDepth: 6, depthIdentifier: 'tree' },
      fc.constant<readonly [Op, NodeSpec][]>([]),
      fc.array(fc.tuple(opArb, tie('node')), { maxLength: 3, depthIdentifier: 'tree' }),
    ),
  }),
}));

/** Grows `node` along `spec`, skipping ops that cannot apply, so that every leaf has an attestation. */
function grow(node: Timestamp, spec: NodeSpec): void {
  for (const attestation of spec.attestations) node.attestations.add(attestation);
  for (const [op, childSpec] of spec.children) {
    let child: Timestamp;
    try {
      child = node.ops.add(op);
    } catch (e) {
      if (e instanceof MsgValueError) continue;
      throw e;
    }
    grow(child, childSpec);
  }
  if (node.attestations.size === 0 && node.ops.size === 0)
    node.attestations.add(new PendingAttestation('leaf'));
}

export const timestampArb: fc.Arbitrary<Timestamp> = fc
  .tuple(fc.uint8Array({ maxLength: 64 }), nodeSpecArb)
  .map(([msg, spec]) => {
    const t = new Timestamp(msg);
    grow(t, spec);
    return t;
  });

/** A single path of up to 255 ops: the deepest trees the reference reads. */
export const deepTimestampArb: fc.Arbitrary<Timestamp> = fc
  .tuple(
    fc.uint8Array({ minLength: 1, maxLength: 32 }),
    fc.array(opArb, { minLength: 200, maxLength: 255 }),
    attestationArb,
  )
  .map(([msg, ops, attestation]) => {
    const root = new Timestamp(msg);
    let node = root;
    for (const op of ops) {
      try {
        node = node.ops.add(op);
      } catch (e) {
        if (!(e instanceof MsgValueError)) throw e;
      }
    }
    node.attestations.add(attestation);
    return root;
  });
