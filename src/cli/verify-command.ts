/**
 * `otsd verify FILE.ots --header HEX`: offline check of a proof's Bitcoin attestations against block
 * headers the user supplies (80 bytes each, as `getblockheader <hash> false` prints them), plus the
 * digest of the timestamped file when it is at hand.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  BitcoinBlockHeaderAttestation,
  BlockHeader,
  equalBytes,
  fromHex,
  OtsError,
  reverseBytes,
  toHex,
} from '../ots/index.js';
import { CliError } from './cli-error.js';
import { readTimestampFile } from './read-timestamp-file.js';

export interface VerifyOptions {
  header: string[];
  target?: string;
  digest?: string;
}

export interface VerifyResult {
  ok: boolean;
  lines: string[];
}

function parseHeader(hex: string): BlockHeader {
  try {
    return new BlockHeader(fromHex(hex.trim()));
  } catch (e) {
    if (e instanceof OtsError)
      throw new CliError(`--header must be 160 hex digits (an 80-byte block header)`);
    throw e;
  }
}

const isoDate = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);

export function verifyCommand(path: string, options: VerifyOptions): VerifyResult {
  const file = readTimestampFile(path);
  const headers = options.header.map(parseHeader);
  const lines: string[] = [];

  const digestSource =
    options.digest !== undefined
      ? 'digest'
      : (options.target ?? (path.endsWith('.ots') ? path.slice(0, -4) : undefined));
  if (options.digest !== undefined) {
    let digest: Uint8Array;
    try {
      digest = fromHex(options.digest);
    } catch {
      throw new CliError('--digest must be hex');
    }
    if (!equalBytes(digest, file.fileDigest)) {
      return {
        ok: false,
        lines: [
          `Digest provided does not match digest in timestamp, ${toHex(file.fileDigest)} (${file.fileHashOp.name})`,
        ],
      };
    }
  } else if (digestSource !== undefined && (options.target !== undefined || existsSync(digestSource))) {
    let data: Uint8Array;
    try {
      data = readFileSync(digestSource);
    } catch (e) {
      throw new CliError(
        `cannot read ${digestSource}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (!equalBytes(file.fileHashOp.hashData(data), file.fileDigest)) {
      return { ok: false, lines: [`File ${digestSource} does not match original!`] };
    }
    lines.push(`File ${digestSource} matches the timestamp's ${file.fileHashOp.name} digest`);
  } else {
    lines.push('File digest not checked (no --target or --digest, and no file beside the proof)');
  }

  const attested = [...file.timestamp.allAttestations()]
    .filter(
      (entry): entry is [Uint8Array, BitcoinBlockHeaderAttestation] =>
        entry[1] instanceof BitcoinBlockHeaderAttestation,
    )
    .sort((a, b) => a[1].height - b[1].height);
  if (attested.length === 0)
    return { ok: false, lines: [...lines, 'Failed! The timestamp has no Bitcoin attestation'] };

  for (const [msg, attestation] of attested) {
    const header = headers.find((h) => equalBytes(h.merkleRoot, msg));
    if (header) {
      const time = attestation.verifyAgainstBlockHeader(msg, header);
      lines.push(`Success! Bitcoin block ${attestation.height} attests existence as of ${isoDate(time)} UTC`);
      return { ok: true, lines };
    }
    lines.push(
      `Bitcoin block ${attestation.height}: no given header has merkle root ${toHex(reverseBytes(msg))}`,
    );
  }
  return { ok: false, lines: [...lines, 'Failed! Digest does not match merkleroot of any given header'] };
}
