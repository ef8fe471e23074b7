/**
 * `npm run bench`: every benchmark of issue 18 in turn, each in its own process (so that one's memory
 * and open files do not weigh on the next), then one table of all their rows, with the machine's
 * load average before and after. Each benchmark prints its own details as it runs.
 *
 * Run: npm run bench   (BENCH_ONLY=ots,storage runs some of them)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchRow, machineLine, printTable } from './table.js';

const BENCHMARKS = ['ots', 'http', 'storage', 'mirror'];

const only = process.env.BENCH_ONLY?.split(',');
const work = mkdtempSync(join(tmpdir(), 'otsd-bench-'));
const rowsFile = join(work, 'rows.jsonl');
const loadBefore = loadavg();
const failed: string[] = [];
try {
  for (const name of BENCHMARKS.filter((b) => !only || only.includes(b))) {
    console.log(`\n=== bench/${name} ===`);
    const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
    const run = spawnSync(process.execPath, [script], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_ROWS_FILE: rowsFile },
    });
    if (run.status !== 0) failed.push(`${name} (${run.signal ?? `exit ${run.status}`})`);
  }
  const rows = readFileSync(rowsFile, { encoding: 'utf8', flag: 'a+' })
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as BenchRow);
  console.log(`\n=== every row ===\n${machineLine(loadBefore)}\n`);
  printTable(rows);
  if (failed.length) {
    console.log(`\nfailed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
