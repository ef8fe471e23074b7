/**
 * deploy/nginx.conf with Debian's nginx in front of otsd on loopback (TLS with a certificate made by
 * the test): the Python reference client stamps and fetches through it, proofs are cached, CORS passes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runPython } from '../clients/run-client.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { nginxPorts, nginxUnavailable, startNginx } from '../helpers/nginx.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

describe('nginx in front of otsd', () => {
  it('terminates TLS, caches proofs and passes clients through', async (t) => {
    if (!requireTools(t, nginxUnavailable(), oracleUnavailable())) return;
    const dir = tempDir(t);
    const ports = await nginxPorts();
    // the public URI is nginx's: clients come back through it to upgrade
    const calendar = await startCalendarProcess(join(dir, 'data'), [
      '--round-interval',
      '20',
      '--uri',
      `https://127.0.0.1:${ports.https}`,
    ]);
    t.after(() => calendar.stop());
    const { https, certFile, get } = await startNginx(t, dir, {
      file: 'nginx.conf',
      replace: [['127.0.0.1:14788', new URL(calendar.url).host]],
      ports,
    });

    // the Python reference client, through TLS
    const env = { SSL_CERT_FILE: certFile };
    const submitted = await runPython('python_client.py', [https, 'submit', '2'], env);
    assert.equal(submitted.length, 2);
    const pending = await runPython(
      'python_client.py',
      [https, 'get', submitted[0]?.commitment as string],
      env,
    );
    assert.equal(pending[0]?.not_found, 'Pending confirmation in Bitcoin blockchain');

    // /timestamp answers are cached by nginx; CORS headers and preflights pass through
    const path = `/timestamp/${submitted[1]?.commitment}`;
    const first = await get(path);
    const second = await get(path);
    assert.deepEqual([first.status, second.status], [404, 404]);
    assert.deepEqual([first.headers['x-proxy-cache'], second.headers['x-proxy-cache']], ['MISS', 'HIT']);
    assert.equal(first.headers['access-control-allow-origin'], '*');
    const preflight = await get('/digest', 'OPTIONS');
    assert.equal(preflight.status, 204);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);

    // a donation as hex, as large as the default `external.max_tx_bytes` allows (1,000 bytes), reaches
    // otsd (nginx's 1k body limit is for digests): this calendar takes none, and says so itself
    const donation = await get('/external/tx', 'POST', 'ab'.repeat(900));
    assert.equal(donation.status, 404, donation.text);
    assert.match(donation.text, /takes no external transactions/);
  });
});
