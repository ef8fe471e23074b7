/**
 * The fault suite's table: each case prints one line, what it tried and what was lost, before it
 * asserts, so a run reads as a table (`npm test | grep '^fault '`), failures included.
 */
export interface FaultRow {
  /** What was done, e.g. "kill -9 under load". */
  case: string;
  /** How many times the fault was applied (kills, signals, refusals...). */
  tries: number;
  /** What the node acknowledged (digests answered 200, records mirrored). */
  acknowledged: number;
  /** What of that is gone or wrong afterwards: 0. */
  lost: number;
  /** ok, or what went wrong; then the case's own measurements. */
  result: string;
}

const n = (x: number) => x.toLocaleString('en-US');

export function reportFault(row: FaultRow): void {
  process.stdout.write(
    `fault  ${row.case.padEnd(52)} tries ${n(row.tries).padStart(6)}  acknowledged ${n(row.acknowledged).padStart(8)}  lost ${n(row.lost).padStart(5)}  ${row.result}\n`,
  );
}
