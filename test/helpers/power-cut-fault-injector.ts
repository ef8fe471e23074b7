/**
 * A fault injector for the journal's file layer (JournalFiles): files and directories in memory, each
 * twice, as the process sees them and as the disk holds them, and a power cut that a killed process
 * cannot simulate. What was fsynced survives a cut. Of what was not, the disk keeps a random part:
 * each unsynced 4 KiB page is stale (zeros past the synced end), written, or torn (some of its 512-byte
 * sectors written), in any combination, so pages reach the disk in no particular order; the size is
 * the synced one, the written one, or one between; a created or removed directory entry that was not
 * synced (the directory's fsync) may or may not be there.
 */
import { dirname } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import type { JournalFile, JournalFiles } from '../../src/journal/files.js';

const PAGE_BYTES = 4096;
const SECTOR_BYTES = 512;

interface Inode {
  /** What the process sees (capacity may exceed size). */
  data: Uint8Array;
  size: number;
  /** What a power cut keeps for sure. */
  synced: Uint8Array;
  /** Pages written since the last sync. */
  dirty: Set<number>;
}

type Entry = { kind: 'dir' } | { kind: 'file'; inode: Inode };

/** A small seeded generator (mulberry32), so that a failing fast-check run replays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

export class PowerCutFaultInjector implements JournalFiles {
  private live = new Map<string, Entry>();
  private durable = new Map<string, Entry>();
  private readonly random: () => number;
  private on = true;
  private generation = 0;
  private opsUntilCut: number | undefined;
  private readonly root: string;

  /** `root` exists, durably; everything else is made through the JournalFiles calls. */
  constructor(seed: number, root: string) {
    this.random = seededRandom(seed);
    this.root = root;
    this.live.set(root, { kind: 'dir' });
    this.durable.set(root, { kind: 'dir' });
  }

  get powered(): boolean {
    return this.on;
  }

  /** Cuts the power at the `ops`-th file operation from now (opens, writes, syncs, truncates, unlinks). */
  cutAfter(ops: number | undefined): void {
    this.opsUntilCut = ops;
  }

  /** Cuts the power now: every later call fails until powerOn(); the disk keeps what is described above. */
  cut(): void {
    this.on = false;
    this.opsUntilCut = undefined;
    const image = new Map<string, Entry>();
    for (const path of [...new Set([...this.live.keys(), ...this.durable.keys()])].sort()) {
      const live = this.live.get(path);
      const durable = this.durable.get(path);
      const kept = live === durable || this.random() < 0.5 ? live : durable;
      if (kept) image.set(path, kept);
    }
    // sorted: a parent comes before what is in it
    for (const path of image.keys()) {
      if (path !== this.root && !image.has(dirname(path))) image.delete(path);
    }
    for (const entry of image.values()) if (entry.kind === 'file') this.crash(entry.inode);
    this.live = image;
    this.durable = new Map(image);
  }

  /** Power is back: the next calls see the disk as the cut left it (the old handles stay dead). */
  powerOn(): void {
    this.on = true;
    this.generation++;
  }

  private crash(inode: Inode): void {
    const { synced } = inode;
    const written = inode.data.subarray(0, inode.size);
    const pick = this.random();
    const low = Math.min(synced.byteLength, written.byteLength);
    const high = Math.max(synced.byteLength, written.byteLength);
    const size =
      pick < 0.4
        ? synced.byteLength
        : pick < 0.8
          ? written.byteLength
          : low + Math.floor(this.random() * (high - low + 1));
    const disk = new Uint8Array(size);
    disk.set(synced.subarray(0, Math.min(size, synced.byteLength)));
    for (const page of inode.dirty) {
      const fate = this.random();
      if (fate < 1 / 3) continue; // stale
      for (let sector = page * PAGE_BYTES; sector < (page + 1) * PAGE_BYTES; sector += SECTOR_BYTES) {
        if (fate < 2 / 3 && this.random() < 0.5) continue; // torn: this sector is stale
        const end = Math.min(sector + SECTOR_BYTES, size, written.byteLength);
        if (end > sector) disk.set(written.subarray(sector, end), sector);
      }
    }
    inode.data = disk.slice();
    inode.size = size;
    inode.synced = disk;
    inode.dirty.clear();
  }

  /** Every operation that changes the disk or syncs it counts towards a planned cut. */
  private async step(path: string): Promise<void> {
    await tick();
    if (!this.on) throw fsError('EIO', `${path} (the power is off)`);
    if (this.opsUntilCut !== undefined && this.opsUntilCut-- <= 0) {
      this.cut();
      throw fsError('EIO', `${path} (the power was cut)`);
    }
  }

  /** Throws unless the power is on and `generation` is the current one: a handle from before a cut is dead. */
  checkGeneration(generation: number, path: string): void {
    if (!this.on || generation !== this.generation) throw fsError('EIO', `${path} (the power was cut)`);
  }

  private directory(dir: string): void {
    if (this.live.get(dir)?.kind !== 'dir') throw fsError('ENOENT', dir);
  }

  async open(path: string, flags: 'r' | 'r+' | 'a' | 'wx'): Promise<JournalFile> {
    await this.step(path);
    let entry = this.live.get(path);
    if (entry && flags === 'wx') throw fsError('EEXIST', path);
    if (!entry) {
      if (flags === 'r' || flags === 'r+') throw fsError('ENOENT', path);
      this.directory(dirname(path));
      entry = {
        kind: 'file',
        inode: { data: new Uint8Array(0), size: 0, synced: new Uint8Array(0), dirty: new Set() },
      };
      this.live.set(path, entry);
    }
    if (entry.kind !== 'file') throw fsError('EISDIR', path);
    return new InjectedFile(this, entry.inode, path, this.generation, flags === 'a', this.random);
  }

  async readdir(dir: string): Promise<string[]> {
    await tick();
    this.checkGeneration(this.generation, dir);
    this.directory(dir);
    return [...this.live.keys()]
      .filter((p) => p !== dir && dirname(p) === dir)
      .map((p) => p.slice(dir.length + 1));
  }

  async mkdir(dir: string): Promise<void> {
    await this.step(dir);
    for (let at = dir; !this.live.has(at); at = dirname(at)) this.live.set(at, { kind: 'dir' });
  }

  async unlink(path: string): Promise<void> {
    await this.step(path);
    if (this.live.get(path)?.kind !== 'file') throw fsError('ENOENT', path);
    this.live.delete(path);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.step(from);
    const entry = this.live.get(from);
    if (entry?.kind !== 'file') throw fsError('ENOENT', from);
    this.live.delete(from);
    this.live.set(to, entry);
  }

  async syncDirectory(dir: string): Promise<void> {
    await this.step(dir);
    // the root's parents hold it durably already
    if (this.root.startsWith(`${dir === '/' ? '' : dir}/`)) return;
    this.directory(dir);
    for (const path of new Set([...this.live.keys(), ...this.durable.keys()])) {
      if (path === dir || dirname(path) !== dir) continue;
      const live = this.live.get(path);
      if (live) this.durable.set(path, live);
      else this.durable.delete(path);
    }
  }

  /** Counts a write, fsync or truncate towards a planned cut. */
  async fileStep(generation: number, path: string): Promise<void> {
    await this.step(path);
    this.checkGeneration(generation, path);
  }
}

class InjectedFile implements JournalFile {
  private position = 0;

  constructor(
    private readonly disk: PowerCutFaultInjector,
    private readonly inode: Inode,
    private readonly path: string,
    private readonly generation: number,
    private readonly append: boolean,
    private readonly random: () => number,
  ) {}

  async read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }> {
    await tick();
    this.disk.checkGeneration(this.generation, this.path);
    const bytes = this.inode.data.subarray(
      Math.min(position, this.inode.size),
      Math.min(position + length, this.inode.size),
    );
    buffer.set(bytes, offset);
    return { bytesRead: bytes.byteLength };
  }

  /** Writes all of it, or (as write(2) may) only a part. */
  async write(buffer: Uint8Array, offset: number): Promise<{ bytesWritten: number }> {
    await this.disk.fileStep(this.generation, this.path);
    let bytes = buffer.subarray(offset);
    if (bytes.byteLength > 1 && this.random() < 0.1)
      bytes = bytes.subarray(0, 1 + Math.floor(this.random() * (bytes.byteLength - 1)));
    const at = this.append ? this.inode.size : this.position;
    const end = at + bytes.byteLength;
    if (end > this.inode.data.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.inode.data.byteLength * 2));
      grown.set(this.inode.data.subarray(0, this.inode.size));
      this.inode.data = grown;
    }
    this.inode.data.set(bytes, at);
    this.inode.size = Math.max(this.inode.size, end);
    for (let page = Math.floor(at / PAGE_BYTES); page * PAGE_BYTES < end; page++) this.inode.dirty.add(page);
    this.position = end;
    return { bytesWritten: bytes.byteLength };
  }

  async datasync(): Promise<void> {
    await this.disk.fileStep(this.generation, this.path);
    this.inode.synced = this.inode.data.slice(0, this.inode.size);
    this.inode.dirty.clear();
  }

  sync(): Promise<void> {
    return this.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.disk.fileStep(this.generation, this.path);
    if (length > this.inode.size) throw new Error('the journal only truncates to a shorter length');
    this.inode.data.fill(0, length, this.inode.size);
    this.inode.size = length;
  }

  async stat(): Promise<{ size: number }> {
    this.disk.checkGeneration(this.generation, this.path);
    return { size: this.inode.size };
  }

  async close(): Promise<void> {}
}
