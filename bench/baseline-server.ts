/**
 * The baseline for bench/http.ts: a bare node:http server answering every request with a fixed body
 * of about the size of a calendar answer. Prints its port on stdout.
 */
import { createServer } from 'node:http';

const body = Buffer.alloc(Number(process.argv[2] ?? 150), 0x61);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength });
    res.end(body);
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
