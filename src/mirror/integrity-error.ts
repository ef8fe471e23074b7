/** The upstream's journal is not a continuation of ours, or holds a record that does not check out. */
export class MirrorIntegrityError extends Error {
  override name = 'MirrorIntegrityError';
}
