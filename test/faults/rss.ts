/** The resident memory of a process, sampled from /proc while a fault runs. */
import { readFileSync } from 'node:fs';

const MIB = 1024 * 1024;

/** VmRSS of `pid`, in MiB. */
export function rssMiB(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return (Number(kib) * 1024) / MIB;
}

/** Samples `pid` every `everyMs` until stopped; the peak and the last sample, in MiB. */
export function sampleRss(pid: number, everyMs = 200): { stop(): { peak: number; last: number } } {
  let peak = rssMiB(pid);
  let last = peak;
  const timer = setInterval(() => {
    try {
      last = rssMiB(pid);
      peak = Math.max(peak, last);
    } catch {
      // the process is gone: keep the last sample
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { peak: Math.round(peak), last: Math.round(last) };
    },
  };
}
