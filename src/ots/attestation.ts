/**
 * Time attestations: the leaves of the timestamp tree (python-opentimestamps `core/notary.py` and
 * `core/dubious/notary.py`). Wire form: 8-byte tag, then the payload as varbytes (at most 8192 bytes).
 * A known kind must use every payload byte; an unknown tag is kept with its payload, byte for byte.
 * @module
 */
import { BlockHeader } from './block-header.js';
import { compareBytes, equalBytes, fromHex, toHex } from './bytes.js';
import { DeserializationError, OtsValueError, VerificationError } from './errors.js';
import { Reader, Writer } from './serialize.js';

export const ATTESTATION_TAG_LENGTH = 8;
export const MAX_ATTESTATION_PAYLOAD = 8192;

export abstract class Attestation {
  abstract readonly tag: Uint8Array;
  private cachedPayload: Uint8Array | undefined;
  private cachedKey: string | undefined;

  protected abstract writePayload(w: Writer): void;
  /** Order among attestations of the same class (the reference's `__lt__`). */
  protected abstract compareSameKind(other: this): number;
  /** The reference's `repr()`, which `ots info` prints. */
  abstract toString(): string;

  /** The serialized payload (without tag and length). */
  get payload(): Uint8Array {
    if (!this.cachedPayload) {
      const w = new Writer(16); // a height's varuint fits; a URI grows it
      this.writePayload(w);
      this.cachedPayload = w.toBytes();
    }
    return this.cachedPayload;
  }

  /** A string that is equal for equal attestations. */
  get key(): string {
    this.cachedKey ??= toHex(this.tag) + toHex(this.payload);
    return this.cachedKey;
  }

  write(w: Writer): void {
    w.writeBytes(this.tag);
    w.writeVarBytes(this.payload);
  }

  equals(other: Attestation): boolean {
    // Two of one kind compare without serializing their payloads; mixed kinds (an UnknownAttestation
    // built with a known tag) compare as bytes.
    if (this.constructor === other.constructor) return this.compare(other) === 0;
    return this.key === other.key;
  }

  /** The reference's sort order: by tag, then by the kind's own order (height, URI, payload). */
  compare(other: Attestation): number {
    if (this.constructor !== other.constructor) return compareBytes(this.tag, other.tag);
    return compareBytes(this.tag, other.tag) || this.compareSameKind(other as this);
  }

  static read(r: Reader): Attestation {
    const tag = r.readBytes(ATTESTATION_TAG_LENGTH);
    const payload = r.readVarBytes(MAX_ATTESTATION_PAYLOAD);
    const payloadStart = r.offset - payload.length;
    const parse = KNOWN_KINDS.get(toHex(tag));
    if (!parse) return new UnknownAttestation(tag, payload);
    const payloadReader = new Reader(payload);
    try {
      const attestation = parse(payloadReader);
      payloadReader.assertEof();
      return attestation;
    } catch (e) {
      // Report offsets in the outer input, not in the payload.
      if (e instanceof DeserializationError) {
        const Kind = e.constructor as new (message: string, offset: number) => DeserializationError;
        const inner = e.message.replace(/ \(at byte \d+\)$/, '');
        throw new Kind(`attestation payload: ${inner}`, payloadStart + e.offset);
      }
      throw e;
    }
  }
}

/** An attestation of a kind this library does not know; written back unchanged. */
export class UnknownAttestation extends Attestation {
  readonly tag: Uint8Array;
  private readonly rawPayload: Uint8Array;

  constructor(tag: Uint8Array, payload: Uint8Array) {
    super();
    if (tag.length !== ATTESTATION_TAG_LENGTH) {
      throw new OtsValueError(
        `UnknownAttestation: tag must be ${ATTESTATION_TAG_LENGTH} bytes, got ${tag.length}`,
      );
    }
    if (payload.length > MAX_ATTESTATION_PAYLOAD) {
      throw new OtsValueError(`UnknownAttestation: payload must be <= ${MAX_ATTESTATION_PAYLOAD} bytes`);
    }
    this.tag = tag;
    this.rawPayload = payload;
  }

  protected writePayload(w: Writer): void {
    w.writeBytes(this.rawPayload);
  }

  protected compareSameKind(other: UnknownAttestation): number {
    return compareBytes(this.rawPayload, other.rawPayload);
  }

  toString(): string {
    return `UnknownAttestation(${pythonBytesRepr(this.tag)}, ${pythonBytesRepr(this.rawPayload)})`;
  }
}

export const MAX_URI_LENGTH = 1000;
const URI_RE = /^[A-Za-z0-9._/:-]*$/;

/**
 * The commitment is recorded by a remote calendar at `uri`, where a complete timestamp can be fetched
 * later. The URI is limited to 1000 bytes of `A-Z a-z 0-9 - . _ / :`: no query, fragment, userinfo,
 * percent-encoding or IPv6 literal.
 */
export class PendingAttestation extends Attestation {
  static readonly TAG = fromHex('83dfe30d2ef90c8e');
  readonly tag = PendingAttestation.TAG;
  readonly uri: string;

  constructor(uri: string) {
    super();
    PendingAttestation.checkUri(uri);
    this.uri = uri;
  }

  /** Throws OtsValueError when `uri` is not a valid pending-attestation URI. */
  static checkUri(uri: string): void {
    if (uri.length > MAX_URI_LENGTH) throw new OtsValueError('URI exceeds maximum length');
    if (!URI_RE.test(uri)) {
      const bad = [...uri].find((c) => !URI_RE.test(c));
      throw new OtsValueError(`URI contains invalid character ${JSON.stringify(bad)}`);
    }
  }

  protected writePayload(w: Writer): void {
    w.writeVarBytes(new TextEncoder().encode(this.uri));
  }

  protected compareSameKind(other: PendingAttestation): number {
    return this.uri < other.uri ? -1 : this.uri > other.uri ? 1 : 0;
  }

  toString(): string {
    return `PendingAttestation('${this.uri}')`;
  }

  static readPayload(r: Reader): PendingAttestation {
    const at = r.offset;
    const bytes = r.readVarBytes(MAX_URI_LENGTH);
    // Every allowed character is ASCII, so a latin1 decode is exact and shows any bad byte as-is.
    const uri = String.fromCharCode(...bytes);
    try {
      return new PendingAttestation(uri);
    } catch (e) {
      throw new DeserializationError(`Invalid URI: ${(e as Error).message}`, at);
    }
  }
}

/** Attestations by the block header at a height: the message is the header's merkle root. */
abstract class BlockHeightAttestation extends Attestation {
  readonly height: number;
  /**
   * The reference's class name, which `ots info` prints. A getter on the prototype, not the class's
   * own name: bundlers and minifiers rename classes, and the base constructor can already read it.
   */
  protected get pythonName(): string {
    return 'BlockHeightAttestation';
  }

  constructor(height: number) {
    super();
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new OtsValueError(`${this.pythonName}: height must be a non-negative integer, got ${height}`);
    }
    this.height = height;
  }

  protected writePayload(w: Writer): void {
    w.writeVarUint(this.height);
  }

  protected compareSameKind(other: BlockHeightAttestation): number {
    return this.height - other.height;
  }

  toString(): string {
    return `${this.pythonName}(${this.height})`;
  }
}

/**
 * Bitcoin block header at `height`. The same attestation serves mainnet, testnet and regtest: the
 * verifier must look the header up on the right chain.
 */
export class BitcoinBlockHeaderAttestation extends BlockHeightAttestation {
  static readonly TAG = fromHex('0588960d73d71901');
  readonly tag = BitcoinBlockHeaderAttestation.TAG;
  protected override get pythonName(): string {
    return 'BitcoinBlockHeaderAttestation';
  }

  /**
   * Checks that `digest` (the message this attestation is attached to) is the merkle root of `header`
   * (80 bytes, or parsed). Returns the block time (nTime); throws VerificationError otherwise.
   */
  verifyAgainstBlockHeader(digest: Uint8Array, header: Uint8Array | BlockHeader): number {
    const parsed = header instanceof BlockHeader ? header : new BlockHeader(header);
    if (digest.length !== 32) {
      throw new VerificationError(`Expected digest with length 32 bytes; got ${digest.length} bytes`);
    }
    if (!equalBytes(digest, parsed.merkleRoot))
      throw new VerificationError('Digest does not match merkleroot');
    return parsed.time;
  }
}

/** Litecoin block header at `height`; same header layout as Bitcoin. */
export class LitecoinBlockHeaderAttestation extends BlockHeightAttestation {
  static readonly TAG = fromHex('06869a0d73d71b45');
  readonly tag = LitecoinBlockHeaderAttestation.TAG;
  protected override get pythonName(): string {
    return 'LitecoinBlockHeaderAttestation';
  }
}

/** Ethereum block at `height` (the reference keeps it in its "dubious" module); read and written only. */
export class EthereumBlockHeaderAttestation extends BlockHeightAttestation {
  static readonly TAG = fromHex('30fe8087b5c7ead7');
  readonly tag = EthereumBlockHeaderAttestation.TAG;
  protected override get pythonName(): string {
    return 'EthereumBlockHeaderAttestation';
  }
}

const KNOWN_KINDS: ReadonlyMap<string, (r: Reader) => Attestation> = new Map<
  string,
  (r: Reader) => Attestation
>([
  [toHex(PendingAttestation.TAG), PendingAttestation.readPayload],
  [toHex(BitcoinBlockHeaderAttestation.TAG), (r) => new BitcoinBlockHeaderAttestation(r.readVarUint())],
  [toHex(LitecoinBlockHeaderAttestation.TAG), (r) => new LitecoinBlockHeaderAttestation(r.readVarUint())],
  [toHex(EthereumBlockHeaderAttestation.TAG), (r) => new EthereumBlockHeaderAttestation(r.readVarUint())],
]);

/** Python's repr() of a bytes value, which the reference prints for unknown attestations. */
export function pythonBytesRepr(b: Uint8Array): string {
  const quote = b.includes(0x27) && !b.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const c of b) {
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === quote.charCodeAt(0)) out += `\\${quote}`;
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `${out}${quote}`;
}
