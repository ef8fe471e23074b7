/**
 * The last answer finished of each method outlives a full garbage collection (with its request), and
 * only the last: V8 keeps the shapes Node's request path passes through only while one answer lives
 * (see src/http/tracked-response.ts). Read in a child with the collector exposed: answers served,
 * every connection closed, then two full collections.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const MODULE = new URL('../../src/http/tracked-response.js', import.meta.url).href;

const SCRIPT = `
import { createServer } from 'node:http';
const { TrackedResponse } = await import(process.argv[1]);
const answers = [];
const server = createServer({ ServerResponse: TrackedResponse }, (req, res) => {
  answers.push({ method: req.method, answer: new WeakRef(res), request: new WeakRef(req) });
  req.resume();
  req.on('end', () => res.end('x'));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = 'http://127.0.0.1:' + server.address().port + '/';
for (const method of ['GET', 'GET', 'POST', 'GET', 'POST']) {
  const answer = await fetch(url, { method, ...(method === 'POST' && { body: 'digest' }) });
  await answer.text();
}
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
await new Promise((resolve) => setTimeout(resolve, 100));
gc();
gc();
console.log(JSON.stringify(answers.map((a) => [a.method, a.answer.deref() !== undefined, a.request.deref() !== undefined])));
`;

describe('TrackedResponse', () => {
  it('keeps the last answer finished of each method, with its request, through a full collection', () => {
    const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', SCRIPT, MODULE], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const kept = JSON.parse(child.stdout.trim()) as [string, boolean, boolean][];
    assert.deepEqual(kept, [
      ['GET', false, false],
      ['GET', false, false],
      ['POST', false, false],
      ['GET', true, true],
      ['POST', true, true],
    ]);
  });
});
