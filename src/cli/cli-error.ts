/** A command failed for a reason the user can act on: printed as one line, exit status 1. */
export class CliError extends Error {
  override name = 'CliError';
}
