/**
 * The page people get at `/`: stamp files, upgrade and verify a `.ots`. Its HTML and CSS are here; its
 * script (src/web/page.ts) is bundled at build time and served by page-route.ts. Nothing is loaded
 * from elsewhere. Every link and request is relative, so the page works under a path prefix.
 * @module
 */
import { type PageFacts, stampNote, trustNote, upgradeNote } from '../web/facts.js';
import { escapeHtml } from './status-route.js';

/** Inline, so the page is one request besides its script; the Content-Security-Policy allows it by hash. */
export const PAGE_CSS = `
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:1rem;color:#222;background:#fff}
h1{font-size:1.4rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
header p,footer{color:#555}code,pre{font-size:.85em}
main{overflow-wrap:anywhere}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;border-radius:4px}
section{border-top:1px solid #ddd}
.drop{border:2px dashed #999;border-radius:6px;padding:1rem;margin:.5rem 0}
.drop.over{border-color:#1a5fb4;background:#eef4fc}
.drop label{display:block;font-weight:600;margin-top:.5rem}
input[type=file]{display:block;max-width:100%;margin:.25rem 0 .5rem}
:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
button{font:inherit;padding:.4rem .9rem}
.warning{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem}
.verdict{padding:.5rem .75rem;border-left:6px solid #888;background:#f6f6f6}
.verdict.verified,.verdict.stamped{border-color:#26a269;background:#e8f6ee}.verdict.failed{border-color:#c01c28;background:#fbeaea}
.verdict.pending,.verdict.unverified{border-color:#e5a50a;background:#fdf6e3}
.verdict.working,.verdict.note{border-color:#1a5fb4;background:#eef4fc}
.verdict:empty{display:none}
a.download{display:inline-block;margin:.25rem 0;font-weight:600}
`;

export interface PageScript {
  /** Relative URL of the bundle. */
  src: string;
  /** Subresource integrity of the bundle. */
  integrity: string;
}

export function pageHtml(
  facts: PageFacts,
  warnings: readonly string[],
  version: string,
  script: PageScript | undefined,
): string {
  const e = escapeHtml;
  const what = facts.role === 'calendar' ? 'calendar' : facts.role;
  const name = facts.uri ?? facts.upstreams.join(', ');
  const notices = [
    ...warnings,
    ...(facts.network && facts.network !== 'main'
      ? [
          `this calendar anchors in ${facts.network}, a test chain: its timestamps are not on the real Bitcoin chain.`,
        ]
      : []),
    ...(script ? [] : ['this page\'s script was not built ("npm run build" builds it): use the ots client.']),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenTimestamps ${what} ${e(name)}</title>
<style>${PAGE_CSS}</style>
${script ? `<script type="module" src="${e(script.src)}" integrity="${e(script.integrity)}"></script>` : ''}
<script type="application/json" id="page-facts">${JSON.stringify(facts).replaceAll('<', '\\u003c')}</script>
</head><body>
<header><h1>OpenTimestamps ${what}</h1>
<p><code>${e(name)}</code> · <a href="status">status</a></p></header>
<main>
${notices.map((w) => `<p class="warning"><strong>Warning:</strong> ${e(w)}</p>`).join('\n')}
<noscript><p class="warning">This page needs JavaScript (its own script, from this server, nothing from elsewhere). Without it, use the ots client.</p></noscript>
<section aria-labelledby="stamp-title">
<h2 id="stamp-title">Stamp files</h2>
<p>Each file is hashed in this browser and never uploaded: only a digest leaves this page (a hash of the file's hash with a random nonce that stays here, in the .ots). You get a <code>.ots</code> timestamp per file, readable by every OpenTimestamps client.</p>
<p>${e(stampNote(facts))}</p>
<div class="drop" id="stamp-drop">
<label for="stamp-files">Files to stamp (or drop them here)</label>
<input type="file" id="stamp-files" multiple>
</div>
<div id="stamp-output" aria-live="polite"></div>
</section>
<section aria-labelledby="check-title">
<h2 id="check-title">Upgrade and verify a timestamp</h2>
<p>${e(upgradeNote(facts))}</p>
<p>${e(trustNote(facts))}</p>
<div class="drop" id="check-drop">
<label for="proof-file">Timestamp file, .ots (or drop it here, with the original file)</label>
<input type="file" id="proof-file" accept=".ots">
<label for="original-file">Original file, optional: hashed here, never uploaded</label>
<input type="file" id="original-file">
<p id="check-files"></p>
</div>
<button type="button" id="check-again" disabled>Check again</button>
<div id="check-output"><p id="check-verdict" role="status"></p><div id="check-details"></div></div>
</section>
</main>
<footer><p><a href="status">Status of this ${what}</a> · otsd ${e(version)} · <a href="https://opentimestamps.org">opentimestamps.org</a></p></footer>
</body></html>
`;
}
