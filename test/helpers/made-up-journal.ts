/**
 * A made-up journal, served as an otsd serves its own: the head, and each chunk of CHUNK_RECORDS
 * records, framed and chained. For records no honest calendar writes (a forged proof, a record over
 * its kind's limit), and upstreams that misbehave in ways a proxy cannot make (a test's own server).
 */
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { chainHash, GENESIS_CHAIN_HASH, LENGTH_BYTES } from '../../src/journal/record.js';
import { toHex } from '../../src/ots/index.js';

/** The answers of an upstream holding `records` ([kind, payload] each, framed without frameRecord's checks), by path. */
export function madeUpJournal(
  records: [kind: number, payload: Uint8Array][],
): Map<string, Uint8Array | string> {
  let previous: Uint8Array = GENESIS_CHAIN_HASH;
  const stored = records.map(([kind, payload]) => {
    const framed = new Uint8Array(LENGTH_BYTES + 1 + payload.byteLength);
    new DataView(framed.buffer).setUint32(0, 1 + payload.byteLength);
    framed[LENGTH_BYTES] = kind;
    framed.set(payload, LENGTH_BYTES + 1);
    previous = chainHash(previous, framed);
    return Buffer.concat([framed, previous]);
  });
  const bodies = new Map<string, Uint8Array | string>();
  bodies.set('/journal/head', JSON.stringify({ records: records.length, chain_hash: toHex(previous) }));
  for (let chunk = 0; chunk * CHUNK_RECORDS < stored.length; chunk++) {
    const of = stored.slice(chunk * CHUNK_RECORDS, (chunk + 1) * CHUNK_RECORDS);
    bodies.set(`/journal/chunk/${chunk}`, Buffer.concat(of));
  }
  return bodies;
}

/** Has a FAKE upstream (startForgingUpstream's bodies) serve `records` as its journal. */
export function serveMadeUpJournal(
  upstream: { bodies: Map<string, Uint8Array | string> },
  records: [kind: number, payload: Uint8Array][],
): void {
  for (const [path, body] of madeUpJournal(records)) upstream.bodies.set(path, body);
}
