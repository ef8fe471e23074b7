/**
 * deploy/nginx.conf with Debian's nginx in front of otsd on loopback (TLS with a certificate made by
 * the test): the Python reference client stamps and fetches through it, proofs are cached, CORS passes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPython } from '../clients/run-client.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const SITE = fileURLToPath(new URL('../../../deploy/nginx.conf', import.meta.url));

describe('nginx in front of otsd', () => {
  it('terminates TLS, caches proofs and passes clients through', async (t) => {
    if (
      !requireTools(
        t,
        existsSync('/usr/sbin/nginx')
          ? undefined
          : 'nginx missing (apt-get install nginx-light; .ci/run does)',
        oracleUnavailable(),
      )
    )
      return;
    const dir = tempDir(t);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    // the public URI is nginx's: clients come back through it to upgrade
    const calendar = await startCalendarProcess(join(dir, 'data'), [
      '--round-interval',
      '20',
      '--uri',
      `https://127.0.0.1:${httpsPort}`,
    ]);
    t.after(() => calendar.stop());
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    mkdirSync(join(dir, 'cache'));
    const site = readFileSync(SITE, 'utf8')
      .replaceAll('/var/cache/nginx/otsd', join(dir, 'cache'))
      .replaceAll('127.0.0.1:14788', new URL(calendar.url).host)
      .replaceAll('listen 80;', `listen 127.0.0.1:${httpPort};`)
      .replaceAll('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
      .replaceAll('/etc/letsencrypt/live/calendar.example.org/fullchain.pem', join(dir, 'cert.pem'))
      .replaceAll('/etc/letsencrypt/live/calendar.example.org/privkey.pem', join(dir, 'key.pem'))
      .replaceAll('calendar.example.org', '127.0.0.1');
    writeFileSync(
      join(dir, 'nginx.conf'),
      // workers run as this user, who owns the temporary directories
      `daemon off;\nuser ${userInfo().username};\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n` +
        `access_log ${dir}/access.log;\nclient_body_temp_path ${dir}/body;\nproxy_temp_path ${dir}/proxy;\n` +
        `fastcgi_temp_path ${dir}/fastcgi;\nuwsgi_temp_path ${dir}/uwsgi;\nscgi_temp_path ${dir}/scgi;\n${site}\n}\n`,
    );
    const nginx = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let nginxErrors = '';
    nginx.stderr.on('data', (c) => {
      nginxErrors += c;
    });
    const nginxExited = new Promise((resolve) => nginx.once('exit', resolve));
    t.after(async () => {
      nginx.kill('SIGQUIT');
      await nginxExited;
    });
    const https = `https://127.0.0.1:${httpsPort}`;
    const ca = readFileSync(join(dir, 'cert.pem'));
    const get = (path: string, method = 'GET') =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = request(
          `${https}${path}`,
          { method, ca, headers: { origin: 'https://example.org' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    await waitFor(
      'nginx',
      () =>
        get('/tip').then(
          (r) => r.status,
          () => undefined,
        ),
      10_000,
      () => nginxErrors,
    );

    // the Python reference client, through TLS
    const env = { SSL_CERT_FILE: join(dir, 'cert.pem') };
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
  });
});
