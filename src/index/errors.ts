/** The journal and the index disagree in a way catch-up cannot mend: reindex, or the journal is bad. */
export class IndexConsistencyError extends Error {
  override name = 'IndexConsistencyError';
}
