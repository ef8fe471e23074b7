/**
 * Upgrade and verify a `.ots` on the page: read it, compare the original file when one is given, fetch
 * the Bitcoin proofs of its pending attestations from this server, and check each Bitcoin attestation
 * against the block header this server gives for its height. The outcome is said in words: verified
 * (with block height and time), pending, or why not (not a timestamp, wrong original, altered proof,
 * calendar unreachable).
 * @module
 */
import {
  BitcoinBlockHeaderAttestation,
  type CryptOp,
  DetachedTimestampFile,
  equalBytes,
  formatInfo,
  OtsError,
  Timestamp,
  toHex,
  VerificationError,
} from '../ots/index.js';
import { type PageFacts, trustNote } from './facts.js';
import { pendingNodes } from './pending-nodes.js';
import { type PageServer, ServerError } from './server-api.js';

/** verified: a Bitcoin attestation checked out. failed: the file or the proof is wrong. */
export type Verdict = 'verified' | 'pending' | 'failed' | 'unverified';

export interface CheckReport {
  verdict: Verdict;
  headline: string;
  /** What was checked and what the server said, a sentence each. */
  lines: string[];
  /** The proof as `ots info` prints it, after the upgrade; empty when the file is no timestamp. */
  info: string;
  /** The upgraded `.ots`, when this server added proofs to it. */
  upgraded?: Uint8Array;
  block?: { height: number; time: number; hash: string };
}

export interface OriginalFile {
  name: string;
  digest(op: CryptOp): Promise<Uint8Array>;
}

export interface CheckContext {
  server: PageServer;
  facts: PageFacts;
  /** The page's own base URL: pending attestations naming it are asked here too. */
  here: string;
}

/** Block time as the page shows it: `2026-11-30 12:34:56 UTC`. */
export const utcTime = (seconds: number): string =>
  `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * At most this many proofs and block headers are asked for one check: a real timestamp names a few
 * calendars and a block or two; a crafted one may name thousands, and must not make the page flood the
 * server. The rest is said in one line.
 */
export const MAX_ASKED = 16;

/** The chain a block header was served for, as a headline names it. */
const chainName = (network: string | undefined) =>
  network === undefined || network === 'main' ? 'Bitcoin' : `${network} (a test chain, not Bitcoin)`;

/** Whether the page asks this server for the proof of a pending attestation of `uri`. */
export function asksHere(uri: string, c: Pick<CheckContext, 'facts' | 'here'>): boolean {
  if (!c.facts.proofs) return false;
  const ours = [c.facts.uri, c.here, ...(c.facts.role === 'mirror' ? c.facts.upstreams : [])];
  return ours.some((u) => u !== undefined && trimSlash(u) === trimSlash(uri));
}

export async function checkTimestamp(
  proof: { name: string; bytes: Uint8Array },
  original: OriginalFile | undefined,
  c: CheckContext,
): Promise<CheckReport> {
  let file: DetachedTimestampFile;
  try {
    file = DetachedTimestampFile.fromBytes(proof.bytes);
  } catch (e) {
    if (!(e instanceof OtsError)) throw e;
    return {
      verdict: 'failed',
      headline: `${proof.name} is not a valid timestamp: it was damaged or altered, or it is no .ots file.`,
      lines: [`Reading it failed: ${e.message}.`],
      info: '',
    };
  }
  const lines: string[] = [];
  const op = file.fileHashOp.name;
  if (original) {
    const digest = await original.digest(file.fileHashOp);
    if (!equalBytes(digest, file.fileDigest)) {
      return {
        verdict: 'failed',
        headline: `Wrong original file: ${original.name} is not the file this timestamp is for.`,
        lines: [`Its ${op} is ${toHex(digest)}; the timestamp is for ${toHex(file.fileDigest)}.`],
        info: formatInfo(file),
      };
    }
    lines.push(`${original.name} matches the timestamp's ${op} digest.`);
  } else {
    lines.push('No original file given: the proof is checked, not which file it is for.');
  }

  const { changed, unknown, failure, askedHere, elsewhere } = await upgrade(file, c, lines);
  let result = await verify(file, c, lines, original?.name ?? 'the timestamped file');
  if (result.verdict === 'pending' && !askedHere)
    result =
      elsewhere.length > 0
        ? {
            verdict: 'pending',
            headline: `Not verified here: the timestamp is pending at ${elsewhere.join(', ')}, which this page does not ask. Upgrade it with "ots upgrade", then check it here.`,
          }
        : {
            verdict: 'unverified',
            headline:
              'Not verified: the timestamp holds no attestation this page can check (no Bitcoin attestation, and no pending one).',
          };
  else if (result.verdict === 'pending' && failure)
    result = { verdict: 'unverified', headline: `Could not upgrade: ${failure}.` };
  else if (result.verdict === 'pending' && unknown)
    result =
      c.facts.role === 'mirror'
        ? {
            verdict: 'unverified',
            headline: `Not verified: this mirror does not know the timestamp's commitment: the timestamp was altered, or the mirror has not copied it yet.`,
          }
        : {
            verdict: 'failed',
            headline: `Not verified: this calendar never saw the timestamp's commitment: the timestamp was altered, or it is not from this calendar.`,
          };
  return { ...result, lines, info: formatInfo(file), ...(changed && { upgraded: file.toBytes() }) };
}

const bitcoinAttestations = (file: DetachedTimestampFile) =>
  [...file.timestamp.allAttestations()]
    .filter(
      (entry): entry is [Uint8Array, BitcoinBlockHeaderAttestation] =>
        entry[1] instanceof BitcoinBlockHeaderAttestation,
    )
    .sort((a, b) => a[1].height - b[1].height);

/** The reference's 404 text for a commitment it never saw (pending ones get another). */
const NOT_FOUND = 'Not found';

interface UpgradeOutcome {
  /** Whether a proof was added. */
  changed: boolean;
  /** Whether the server said it never saw a commitment of the file. */
  unknown: boolean;
  /** Why the server could not be asked, when it could not. */
  failure?: string;
  /** Whether a pending attestation was one this server answers for. */
  askedHere: boolean;
  /** The calendars of the pending attestations this page does not ask. */
  elsewhere: string[];
}

/** Merges the proofs this server has for the file's pending attestations. */
async function upgrade(
  file: DetachedTimestampFile,
  c: CheckContext,
  lines: string[],
): Promise<UpgradeOutcome> {
  const outcome: UpgradeOutcome = { changed: false, unknown: false, askedHere: false, elsewhere: [] };
  // a complete timestamp is not upgraded, as the reference clients do
  if (bitcoinAttestations(file).length > 0) return outcome;
  const elsewhere = new Set<string>();
  const asked = new Set<string>();
  let skipped = 0;
  for (const { node, attestation } of pendingNodes(file.timestamp)) {
    const calendar = `Calendar ${attestation.uri}`;
    if (!asksHere(attestation.uri, c)) {
      if (!elsewhere.has(attestation.uri))
        lines.push(`${calendar}: not asked; this page upgrades only from this server (use "ots upgrade").`);
      elsewhere.add(attestation.uri);
      continue;
    }
    outcome.askedHere = true;
    const key = toHex(node.msg);
    if (asked.has(key)) continue;
    if (asked.size === MAX_ASKED) {
      skipped++;
      continue;
    }
    asked.add(key);
    try {
      const answer = await c.server.proof(node.msg);
      if (answer.state === 'missing') {
        outcome.unknown ||= answer.reason === NOT_FOUND;
        lines.push(`${calendar}: ${answer.reason || 'no proof yet'}.`);
        continue;
      }
      node.merge(Timestamp.fromBytes(node.msg, answer.timestamp));
      outcome.changed = true;
      lines.push(`${calendar}: complete; its Bitcoin proof was added.`);
    } catch (e) {
      if (e instanceof ServerError) {
        outcome.failure ??= e.message;
        lines.push(`${calendar}: ${e.message}.`);
      } else if (e instanceof OtsError)
        lines.push(`${calendar}: its answer is not a timestamp (${e.message}).`);
      else throw e;
    }
  }
  if (skipped > 0)
    lines.push(
      `${skipped} more pending attestations not asked: this page asks for at most ${MAX_ASKED} proofs.`,
    );
  outcome.elsewhere = [...elsewhere];
  return outcome;
}

async function verify(
  file: DetachedTimestampFile,
  c: CheckContext,
  lines: string[],
  what: string,
): Promise<Pick<CheckReport, 'verdict' | 'headline' | 'block'>> {
  const attested = bitcoinAttestations(file);
  if (attested.length === 0)
    return {
      verdict: 'pending',
      headline: 'Not verified yet: the timestamp is pending (no Bitcoin attestation yet). Check again later.',
    };
  if (c.facts.headers === 'none') {
    lines.push(trustNote(c.facts));
    return { verdict: 'unverified', headline: 'Not verified here: this server has no Bitcoin node.' };
  }
  let altered: number | undefined;
  let problem: string | undefined;
  let network: string | undefined;
  // one request per height, for at most MAX_ASKED heights
  const headers = new Map<number, ReturnType<PageServer['header']>>();
  for (const [msg, attestation] of attested) {
    const height = attestation.height;
    if (!headers.has(height)) {
      if (headers.size === MAX_ASKED) {
        lines.push(
          `${attested.length} Bitcoin attestations: this page checks those at the ${MAX_ASKED} lowest heights.`,
        );
        break;
      }
      headers.set(height, c.server.header(height));
    }
    try {
      const answer = await (headers.get(height) as ReturnType<PageServer['header']>);
      network ??= answer.network;
      if (!answer.header) {
        problem ??= `this server's node has no block ${height}`;
        lines.push(
          `Bitcoin block ${height}: this server's node has no block at that height (another chain?).`,
        );
        continue;
      }
      const time = attestation.verifyAgainstBlockHeader(msg, answer.header);
      lines.push(trustNote(c.facts, network));
      return {
        verdict: 'verified',
        headline: `Verified: ${chainName(network)} block ${height} attests that ${what} existed by ${utcTime(time).slice(0, 10)} (its block time, ${utcTime(time)}, is accurate to about two hours).`,
        block: { height, time, hash: answer.header.hashHex },
      };
    } catch (e) {
      if (e instanceof VerificationError) {
        altered ??= height;
        lines.push(
          `Bitcoin block ${height}: its merkle root is not what the proof leads to (${e.message.toLowerCase()}).`,
        );
      } else if (e instanceof ServerError) {
        problem ??= e.message;
        lines.push(`Bitcoin block ${height}: ${e.message}.`);
      } else throw e;
    }
  }
  lines.push(trustNote(c.facts, network));
  if (altered !== undefined)
    return {
      verdict: 'failed',
      headline: `Not verified: the proof does not lead to Bitcoin block ${altered}: the timestamp was altered, or it is for another chain.`,
    };
  return { verdict: 'unverified', headline: `Could not verify: ${problem}.` };
}
