/**
 * Drives python-opentimestamps (Debian's python3-opentimestamps) through `ots_oracle.py`, one JSON
 * line per request, so tests can compare our bytes with the reference implementation's.
 */
import { type ChildProcessWithoutNullStreams, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTracked } from '../helpers/child-process.js';

/** Debian's interpreter: the one python3-opentimestamps is installed for (PATH may hold another). */
const PYTHON = '/usr/bin/python3';
// The script stays in test/oracle; compiled tests run from dist/test/oracle.
const SCRIPT = fileURLToPath(new URL('../../../test/oracle/ots_oracle.py', import.meta.url));

export type OracleAnswer =
  | { ok: true; [key: string]: unknown }
  | { ok: false; error: string; message: string };

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import opentimestamps'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `python3-opentimestamps is not installed for ${PYTHON} (apt-get install python3-opentimestamps; .ci/run does)`;
}

export class PythonOracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((answer: OracleAnswer) => void)[] = [];

  constructor() {
    // tracked: killed if this test process exits before close()
    this.child = spawnTracked(PYTHON, [SCRIPT], { stdio: 'pipe' }).child as ChildProcessWithoutNullStreams;
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => process.stderr.write(`[oracle] ${text}`));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.waiting.shift()?.(JSON.parse(line) as OracleAnswer);
    });
  }

  request(req: Record<string, unknown>): Promise<OracleAnswer> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Like request, but a failed answer is an exception. */
  async call(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await this.request(req);
    if (!answer.ok) throw new Error(`oracle ${String(req.cmd)}: ${answer.error}: ${answer.message}`);
    return answer;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}
