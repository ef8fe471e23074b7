/**
 * Debian's nginx on loopback with one of the deploy/ site files, its names, ports and paths replaced by
 * local ones, and a self-signed certificate for 127.0.0.1.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STARTUP_TIMEOUT_MS, spawnTracked } from './child-process.js';
import { freePorts } from './free-port.js';
import { selfSignedCert } from './self-signed-cert.js';
import { waitFor } from './wait-for.js';

const NGINX = '/usr/sbin/nginx';

/** Why nginx cannot run here, or undefined. */
export function nginxUnavailable(): string | undefined {
  return existsSync(NGINX) ? undefined : 'nginx missing (apt-get install nginx-light; .ci/run does)';
}

export interface Nginx {
  /** https://127.0.0.1:PORT, the site's TLS server. */
  https: string;
  /** The certificate clients must trust (SSL_CERT_FILE for Python). */
  certFile: string;
  /** A request to the site (`body` sent as is), answered with its status, headers and body. */
  get(
    path: string,
    method?: string,
    body?: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string }>;
}

export interface NginxSite {
  /** A file in deploy/. */
  file: string;
  /** Replacements applied to the file besides the TLS ones (e.g. an upstream address). */
  replace: [string, string][];
  /** Ports chosen beforehand, when the backends must know nginx's URL before it starts. */
  ports?: { http: number; https: number };
}

/** The ports a site will listen on; pass them to startNginx. */
export async function nginxPorts(): Promise<{ http: number; https: number }> {
  const [http, https] = (await freePorts(2)) as [number, number];
  return { http, https };
}

export async function startNginx(t: TestContext, dir: string, site: NginxSite): Promise<Nginx> {
  const ports = site.ports ?? (await nginxPorts());
  const { certFile, keyFile } = selfSignedCert(dir);
  mkdirSync(join(dir, 'cache'));
  let text = readFileSync(fileURLToPath(new URL(`../../../deploy/${site.file}`, import.meta.url)), 'utf8');
  for (const [from, to] of site.replace) text = text.replaceAll(from, to);
  text = text
    .replace(/\/var\/cache\/nginx\/[\w-]+/g, join(dir, 'cache'))
    .replaceAll('listen 80;', `listen 127.0.0.1:${ports.http};`)
    .replaceAll('listen 443 ssl http2;', `listen 127.0.0.1:${ports.https} ssl http2;`)
    .replaceAll('/etc/letsencrypt/live/calendar.example.org/fullchain.pem', certFile)
    .replaceAll('/etc/letsencrypt/live/calendar.example.org/privkey.pem', keyFile)
    .replaceAll('calendar.example.org', '127.0.0.1');
  writeFileSync(
    join(dir, 'nginx.conf'),
    // workers run as this user, who owns the temporary directories
    `daemon off;\nuser ${userInfo().username};\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n` +
      `access_log ${dir}/access.log;\nclient_body_temp_path ${dir}/body;\nproxy_temp_path ${dir}/proxy;\n` +
      `fastcgi_temp_path ${dir}/fastcgi;\nuwsgi_temp_path ${dir}/uwsgi;\nscgi_temp_path ${dir}/scgi;\n${text}\n}\n`,
  );
  const nginx = spawnTracked(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  t.after(() => nginx.stop('SIGQUIT'));
  const https = `https://127.0.0.1:${ports.https}`;
  const ca = readFileSync(certFile);
  const get: Nginx['get'] = (path, method = 'GET', body) =>
    new Promise((resolve, reject) => {
      const req = request(
        `${https}${path}`,
        { method, ca, headers: { origin: 'https://example.org' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const errorLog = () =>
    existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
  await waitFor(
    'nginx',
    () => {
      nginx.assertRunning(`nginx (error.log: ${errorLog()})`);
      return get('/').then(
        (r) => r.status,
        () => undefined,
      );
    },
    STARTUP_TIMEOUT_MS,
    () => `${nginx.output()}${errorLog()}`,
  );
  return { https, certFile, get };
}
