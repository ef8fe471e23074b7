/** Rounds and digests over the last minute, in one-second buckets, for the status page. */

const WINDOW_SECONDS = 60;

export class RecentActivity {
  private readonly rounds = new Array<number>(WINDOW_SECONDS).fill(0);
  private readonly digests = new Array<number>(WINDOW_SECONDS).fill(0);
  private second = 0;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.second = Math.floor(now() / 1000);
  }

  private advance(): number {
    const current = Math.floor(this.now() / 1000);
    for (let s = Math.max(this.second + 1, current - WINDOW_SECONDS + 1); s <= current; s++) {
      this.rounds[s % WINDOW_SECONDS] = 0;
      this.digests[s % WINDOW_SECONDS] = 0;
    }
    this.second = Math.max(this.second, current);
    return current % WINDOW_SECONDS;
  }

  record(digests: number): void {
    const slot = this.advance();
    this.rounds[slot] = (this.rounds[slot] as number) + 1;
    this.digests[slot] = (this.digests[slot] as number) + digests;
  }

  lastMinute(): { rounds: number; digests: number } {
    this.advance();
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    return { rounds: sum(this.rounds), digests: sum(this.digests) };
  }
}
