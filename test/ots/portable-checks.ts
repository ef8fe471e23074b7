/**
 * The format's vector checks as one pure function, so the same code runs in Node and, bundled, in a
 * browser (test/ots/browser.test.ts), and the two sets of outcomes can be compared whole. No Node
 * built-ins here: only `otsd/ots`, imported by its package name (so through the exports a bundler
 * sees), and the inputs handed in.
 */
import {
  BitcoinBlockHeaderAttestation,
  DeserializationError,
  DetachedTimestampFile,
  formatInfo,
  fromHex,
  keccak256,
  reverseBytes,
  ripemd160,
  sha1,
  sha256,
  sha256d,
  Timestamp,
  toHex,
} from 'otsd/ots';

export interface FixtureCase {
  description: string;
  kind: 'tree' | 'file';
  msg: string;
  hex: string;
  error?: string;
}

export interface CheckInput {
  vectors: { name: string; hex: string }[];
  invalid: FixtureCase[];
  limits: FixtureCase[];
}

const parse = (kind: 'tree' | 'file', msg: Uint8Array, bytes: Uint8Array): Uint8Array =>
  kind === 'tree'
    ? Timestamp.fromBytes(msg, bytes).toBytes()
    : DetachedTimestampFile.fromBytes(bytes).toBytes();

/** What parsing an input gives: its re-serialization, or the name of the typed error. */
function outcome(kind: 'tree' | 'file', msgHex: string, hex: string): string {
  try {
    return `bytes ${toHex(parse(kind, fromHex(msgHex), fromHex(hex)))}`;
  } catch (e) {
    return e instanceof DeserializationError ? `error ${e.name}` : `untyped error ${String(e)}`;
  }
}

/** Every check's outcome, by name. */
export function runFormatChecks(input: CheckInput): Record<string, string> {
  const results: Record<string, string> = {};
  const abc = new TextEncoder().encode('abc');
  for (const [name, digest] of Object.entries({ sha1, ripemd160, sha256, sha256d, keccak256 }))
    results[`digest ${name}("abc")`] = toHex(digest(abc));
  for (const { name, hex } of input.vectors) {
    try {
      const file = DetachedTimestampFile.fromBytes(fromHex(hex));
      results[`${name} round-trips`] = String(toHex(file.toBytes()) === hex);
      results[`${name} info`] = formatInfo(file);
      const bitcoin = file.timestamp.shortestPathTo((a) => a instanceof BitcoinBlockHeaderAttestation);
      if (bitcoin) {
        const height = (bitcoin.attestation as BitcoinBlockHeaderAttestation).height;
        results[`${name} bitcoin`] = `${height} ${toHex(reverseBytes(bitcoin.msg))}`;
      }
    } catch (e) {
      results[`${name} parse`] = `error ${(e as Error).name}`;
    }
  }
  for (const c of [...input.invalid, ...input.limits])
    results[`${c.kind} ${c.description}`] = outcome(c.kind, c.msg, c.hex);
  return results;
}
