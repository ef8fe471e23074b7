/**
 * The upstream served data that does not check out: a record cut, modified or refused by its checks, a
 * chunk or head that contradicts the rest. Refused; a mirror retries, since a broken cache or proxy
 * serves such data and then honest data again.
 */
export class MirrorIntegrityError extends Error {
  override name = 'MirrorIntegrityError';
}

/**
 * The upstream serves a history that contradicts records the mirror verified: a different record, each
 * following from the one before, at a number the mirror holds, or fewer records than it holds. No
 * retry can mend that: the mirror stops following for good.
 */
export class MirrorForkError extends MirrorIntegrityError {
  override name = 'MirrorForkError';
}
