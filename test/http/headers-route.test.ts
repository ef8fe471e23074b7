/** GET /bitcoin/headers: bounds on the query, and a node that does not answer. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestCalendar } from '../helpers/test-calendar.js';

describe('GET /bitcoin/headers', () => {
  it('serves the headers with their network, refuses bad ranges, and says when the node does not answer', async (t) => {
    let nodeUp = true;
    const { app, logs } = await startTestCalendar(t, {
      headers: async (from, count) => {
        if (!nodeUp) throw new Error('connect ECONNREFUSED 127.0.0.1:18443');
        return {
          network: 'main',
          headers: Array.from({ length: count }, (_, i) => new Uint8Array(80).fill(from + i)),
        };
      },
    });
    const ok = await app.inject('/bitcoin/headers?from=7&count=2');
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['x-otsd-network'], 'main');
    assert.equal(ok.rawPayload.byteLength, 160);
    for (const query of ['from=-1', 'from=x', 'from=1&count=0', 'from=1&count=2001']) {
      assert.equal((await app.inject(`/bitcoin/headers?${query}`)).statusCode, 400, query);
    }
    nodeUp = false;
    const down = await app.inject('/bitcoin/headers?from=7');
    assert.equal(down.statusCode, 503);
    assert.equal(down.body, 'the Bitcoin node did not answer, retry later');
    assert.ok(logs.some((l) => l.code === 'OTSD_NODE_UNAVAILABLE'));
  });
});
