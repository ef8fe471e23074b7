/**
 * The page's script (bundled by `npm run build` into dist/src/web/page.js, served by the calendar):
 * wires the file inputs and drop zones of page-html.ts to stamp.ts and check.ts, and shows what they
 * found. Files are read and hashed here; only digests leave the browser.
 * @module
 */

import { OpSHA256 } from '../ots/index.js';
import { type CheckReport, checkTimestamp, type OriginalFile, utcTime } from './check.js';
import type { PageFacts } from './facts.js';
import { streamDigest } from './file-digest.js';
import { pageServer } from './server-api.js';
import { mergeAnswer, nonceAndJoin } from './stamp.js';

/** A .ots is small (kilobytes); anything far larger is not one, and is not read whole. */
const MAX_OTS_BYTES = 1024 * 1024;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const facts = JSON.parse(byId('page-facts').textContent ?? '{}') as PageFacts;
const here = new URL('.', location.href).href;
const server = pageServer(here);

async function* chunksOf(file: File): AsyncIterable<Uint8Array> {
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attributes: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, value);
  return e;
}

/** A download link for `bytes`; its object URL lives as long as the page. */
function downloadLink(name: string, bytes: Uint8Array, label: string): HTMLAnchorElement {
  const blob = new Blob([bytes as BlobPart], { type: 'application/octet-stream' });
  return element('a', label, { href: URL.createObjectURL(blob), download: name, class: 'download' });
}

/** Shows `text` as the verdict paragraph's words, its kind as its class. */
function say(paragraph: HTMLElement, verdict: string, text: string): void {
  paragraph.className = `verdict ${verdict}`;
  paragraph.textContent = text;
}

const isProofName = (name: string) => name.toLowerCase().endsWith('.ots');

// --- stamp ---

const stampOutput = byId('stamp-output');

/**
 * Stamps `files` in a block of its own, newest first: each stamp's download links stay on the page
 * while later ones run (they are the only copy of each file's nonce).
 */
async function stamp(files: File[]): Promise<void> {
  if (files.length === 0) return;
  const block = element('div', undefined, { class: 'stamp' });
  const verdict = element('p');
  block.append(verdict);
  stampOutput.prepend(block);
  say(verdict, 'working', `Hashing ${files.length === 1 ? files[0]?.name : `${files.length} files`}…`);
  try {
    const sha256 = new OpSHA256();
    const digests = await Promise.all(files.map((f) => streamDigest(sha256, chunksOf(f))));
    const { files: stamped, tip } = nonceAndJoin(digests, (n) => crypto.getRandomValues(new Uint8Array(n)));
    say(verdict, 'working', 'Submitting to the calendar…');
    mergeAnswer(tip, await server.submit(tip.msg));
    const list = element('ul');
    stamped.forEach((s, i) => {
      const name = `${files[i]?.name}.ots`;
      const item = element('li');
      item.append(downloadLink(name, s.toBytes(), `Download ${name}`));
      list.append(item);
    });
    const one = files.length === 1;
    say(
      verdict,
      'stamped',
      `Stamped ${one ? files[0]?.name : `${files.length} files`}: ${one ? 'its timestamp is' : 'their timestamps are'} pending until the calendar's Bitcoin transaction is confirmed. Download ${one ? 'it' : 'them'}, and drop ${one ? 'it' : 'each'} below later to upgrade and verify ${one ? 'it' : 'them'}.`,
    );
    block.append(list);
  } catch (e) {
    say(verdict, 'failed', `Not stamped: ${(e as Error).message}.`);
  }
}

// --- upgrade and verify ---

const proofInput = byId<HTMLInputElement>('proof-file');
const originalInput = byId<HTMLInputElement>('original-file');
const checkVerdict = byId('check-verdict');
const checkDetails = byId('check-details');
const checkFiles = byId('check-files');
const checkAgain = byId<HTMLButtonElement>('check-again');
let proofFile: File | undefined;
let originalFile: File | undefined;

/** Says the outcome of a check in the live verdict paragraph; the details go beside it, not read out. */
function showCheck(verdict: string, text: string): void {
  say(checkVerdict, verdict, text);
  checkDetails.replaceChildren();
}

function showReport(report: CheckReport, proofName: string): void {
  showCheck(report.verdict, report.headline);
  if (report.block) {
    const { height, time, hash } = report.block;
    checkDetails.append(element('p', `Block ${height}, mined ${utcTime(time)}, hash ${hash}.`));
  }
  if (report.upgraded) {
    const paragraph = element('p');
    paragraph.append(downloadLink(proofName, report.upgraded, `Download the upgraded ${proofName}`));
    checkDetails.append(paragraph);
  }
  const lines = element('ul');
  for (const line of report.lines) lines.append(element('li', line));
  checkDetails.append(lines);
  if (report.info) {
    const details = element('details');
    details.open = true;
    details.append(
      element('summary', 'The proof (as "ots info" prints it)'),
      element('pre', report.info.trimEnd()),
    );
    checkDetails.append(details);
  }
}

/** Counts checks: a check's outcome is shown only if no newer one started meanwhile. */
let checks = 0;

async function check(): Promise<void> {
  const proof = proofFile;
  const original = originalFile;
  const current = ++checks;
  checkAgain.disabled = proof === undefined;
  checkFiles.textContent = `Timestamp: ${proof?.name ?? 'none chosen'} · original file: ${original?.name ?? 'none'}`;
  if (!proof) {
    if (original) showCheck('note', 'Now choose its timestamp (.ots).');
    else showCheck('', '');
    return;
  }
  showCheck('working', `Checking ${proof.name}…`);
  let show: () => void;
  try {
    if (proof.size > MAX_OTS_BYTES) {
      show = () => showCheck('failed', `${proof.name} is ${proof.size} bytes: too large to be a timestamp.`);
    } else {
      const bytes = new Uint8Array(await proof.arrayBuffer());
      const originalDigest: OriginalFile | undefined = original && {
        name: original.name,
        digest: (op) => streamDigest(op, chunksOf(original)),
      };
      const report = await checkTimestamp({ name: proof.name, bytes }, originalDigest, {
        server,
        facts,
        here,
      });
      show = () => showReport(report, proof.name);
    }
  } catch (e) {
    show = () => showCheck('failed', `The check failed: ${(e as Error).message}.`);
  }
  if (current === checks) show();
}

proofInput.addEventListener('change', () => {
  proofFile = proofInput.files?.[0];
  void check();
});
originalInput.addEventListener('change', () => {
  originalFile = originalInput.files?.[0];
  void check();
});
checkAgain.addEventListener('click', () => void check());
const stampInput = byId<HTMLInputElement>('stamp-files');
stampInput.addEventListener('change', () => {
  void stamp([...(stampInput.files ?? [])]);
  // choosing the same file again (edited since) must stamp it again: an unchanged value fires nothing
  stampInput.value = '';
});

/** Drop zones: a drop does what choosing the same files in the zone's inputs does. */
function dropZone(id: string, take: (files: File[]) => void): void {
  const zone = byId(id);
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    take([...(event.dataTransfer?.files ?? [])]);
  });
}
// a file dropped beside a zone must not make the browser leave the page to open it
for (const type of ['dragover', 'drop']) document.addEventListener(type, (event) => event.preventDefault());
dropZone('stamp-drop', (files) => void stamp(files));
dropZone('check-drop', (files) => {
  const proof = files.find((f) => isProofName(f.name));
  const original = files.find((f) => !isProofName(f.name));
  // a dropped timestamp comes with its original or none: the one of an earlier check is not kept;
  // an original dropped alone is for the timestamp already chosen
  if (proof) {
    proofFile = proof;
    originalFile = original;
  } else if (original) originalFile = original;
  else return;
  // the inputs would still show what was chosen in them before
  proofInput.value = '';
  originalInput.value = '';
  void check();
});
