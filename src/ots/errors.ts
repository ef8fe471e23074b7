/**
 * The typed errors of the OpenTimestamps format. Names and hierarchy follow python-opentimestamps
 * (`core/serialize.py`, `core/op.py`, `core/notary.py`) so that a caller can tell a truncated proof
 * from an unknown tag or a failed verification without parsing messages.
 * @module
 */

/** Base class of every error raised by `otsd/ots`. */
export class OtsError extends Error {
  override name = 'OtsError';
}

/** The input is not a valid serialization. `offset` is where in the input the problem was found. */
export class DeserializationError extends OtsError {
  override name = 'DeserializationError';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** A magic number (the detached-file header) is not the expected one. */
export class BadMagicError extends DeserializationError {
  override name = 'BadMagicError';
}

/** A detached timestamp file of a major version this library does not read. */
export class UnsupportedMajorVersionError extends DeserializationError {
  override name = 'UnsupportedMajorVersionError';
}

/** The input ended before the structure did. */
export class TruncationError extends DeserializationError {
  override name = 'TruncationError';
}

/** The structure ended before the input did. */
export class TrailingGarbageError extends DeserializationError {
  override name = 'TrailingGarbageError';
}

/** The timestamp tree is nested deeper than the reference's recursion limit. */
export class RecursionLimitError extends DeserializationError {
  override name = 'RecursionLimitError';
}

/** An operation cannot be applied to a message (too long, empty, or giving too long a result). */
export class MsgValueError extends OtsError {
  override name = 'MsgValueError';
}

/** An operation argument is invalid (empty, or too long). */
export class OpArgValueError extends OtsError {
  override name = 'OpArgValueError';
}

/** A value cannot be represented (an attestation URI with a forbidden character, a message too long...). */
export class OtsValueError extends OtsError {
  override name = 'OtsValueError';
}

/** An attestation does not verify against the data it was checked with. */
export class VerificationError extends OtsError {
  override name = 'VerificationError';
}
