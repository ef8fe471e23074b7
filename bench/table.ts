/**
 * The rows every benchmark prints, as one table: a measure, otsd's figure, the baseline measured in
 * the same run, their ratio, the goal (issue 18) and whether it was met. A benchmark run by
 * bench/all.ts (`npm run bench`) also hands its rows over in BENCH_ROWS_FILE (JSON lines), so that
 * `npm run bench` ends with one table of every row.
 * @module
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface BenchRow {
  measure: string;
  otsd: string;
  baseline: string;
  ratio: string;
  goal: string;
  /** undefined where the row has no goal (shown for context) or could not be measured */
  met: boolean | undefined;
}

const COLUMNS: (keyof BenchRow)[] = ['measure', 'otsd', 'baseline', 'ratio', 'goal', 'met'];

/** The machine and its load average (1, 5, 15 min) now, for the line above a table. */
export function machineLine(loadBefore: number[]): string {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return `${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}; load average before ${load(loadBefore)}, after ${load(loadavg())}`;
}

export function printTable(rows: readonly BenchRow[]): void {
  const cells = rows.map((r) =>
    COLUMNS.map((c) => (c === 'met' ? (r.met === undefined ? '-' : r.met ? 'yes' : 'NO') : r[c])),
  );
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const print = (row: string[]) =>
    console.log(`| ${row.map((x, i) => x.padEnd(widths[i] as number)).join(' | ')} |`);
  print(COLUMNS);
  print(widths.map((w) => '-'.repeat(w)));
  for (const row of cells) print(row);
}

/** Prints a benchmark's table, and hands its rows to bench/all.ts when it runs the benchmark. */
export function reportRows(rows: readonly BenchRow[], loadBefore: number[]): void {
  console.log(`\n${machineLine(loadBefore)}\n`);
  printTable(rows);
  const file = process.env.BENCH_ROWS_FILE;
  if (file) appendFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
