/**
 * Parsers of number arguments, for commander's `argParser` and the config file alike: each names what
 * it expects, and a bad value is refused with those words.
 */
import { InvalidArgumentError } from 'commander';

/** A parser of a command-line value; `expected` is what it takes, e.g. "a positive integer". */
export interface ValueParser<T> {
  (value: string): T;
  readonly expected: string;
}

/** The parser taking what `accepts` says is good, refusing anything else as not `expected`. */
export function valueParser<T>(expected: string, accepts: (value: string) => T | undefined): ValueParser<T> {
  const parse = (value: string): T => {
    const parsed = accepts(value);
    if (parsed === undefined) throw new InvalidArgumentError(`expected ${expected}`);
    return parsed;
  };
  return Object.assign(parse, { expected });
}

/** `value` as a number, when it is one, finite; undefined for anything else, the empty string too. */
const numberOf = (value: string): number | undefined => {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  return Number.isFinite(n) ? n : undefined;
};

export const positiveInteger = valueParser('a positive integer', (value) => {
  const n = numberOf(value);
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
});

export const nonNegativeInteger = valueParser('a non-negative integer', (value) => {
  const n = numberOf(value);
  return n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
});

export const nonNegativeNumber = valueParser('a non-negative number', (value) => {
  const n = numberOf(value);
  return n !== undefined && n >= 0 ? n : undefined;
});
