/**
 * The baseline for bench/http.ts: a bare node:http server answering every request with a fixed body
 * of about the size of a calendar answer. Prints its port on stdout.
 *
 * Run: node baseline-server.js [body bytes, default 150] [round ms]. With a round, every request is
 * held until the next tick of an interval of that length and then all waiting ones are answered, as
 * otsd answers POST /digest when its round ends. A server answering at once needs a handful of
 * keep-alive connections at 4000 requests a second; one holding each request for up to a second needs
 * some 4000, and each of them costs the server CPU (accepted, read, kept, written in bursts): the held
 * mode measures that cost without otsd's work, so that otsd's CPU per digest has a like-for-like
 * baseline.
 */
import { createServer, type ServerResponse } from 'node:http';

const body = Buffer.alloc(Number(process.argv[2] ?? 150), 0x61);
const roundMs = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
if (roundMs !== undefined && !(roundMs > 0))
  throw new Error(`baseline-server: the round is a number of ms above 0, not ${process.argv[3]}`);

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength });
  res.end(body);
}

/** The requests waiting for the round to end. */
let waiting: ServerResponse[] = [];
if (roundMs !== undefined) {
  setInterval(() => {
    const due = waiting;
    waiting = [];
    for (const res of due) answer(res);
  }, roundMs);
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (roundMs === undefined) answer(res);
    else waiting.push(res);
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
