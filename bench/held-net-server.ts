/**
 * The runtime's floor for a request held for its round, beside bench/baseline-server.ts's node:http
 * one: a server on node:net that reads no more HTTP than the bench's own load generator sends (a
 * head, a Content-Length body, keep-alive) and answers every waiting request with one prebuilt buffer
 * at the next tick of its round. No calendar could serve clients with this reading; it measures what
 * node:http itself costs a held request (its parser, its request and response objects and their
 * streams), which no work of otsd's can remove. Prints its port on stdout.
 *
 * Run: node held-net-server.js [body bytes, default 150] [round ms, default 1000]
 */
import { createServer, type Socket } from 'node:net';

/** A head longer than this ends its connection: nothing the load generator sends comes near it. */
const MAX_HEAD_BYTES = 8192;

const bodyBytes = Number(process.argv[2] ?? 150);
const roundMs = Number(process.argv[3] ?? 1000);
if (!(roundMs > 0))
  throw new Error(`held-net-server: the round is a number of ms above 0, not ${process.argv[3]}`);
const answer = Buffer.concat([
  Buffer.from(
    `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${bodyBytes}\r\n` +
      'connection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n',
  ),
  Buffer.alloc(bodyBytes, 0x61),
]);

/** A socket for each request waiting for the round to end. */
let waiting: Socket[] = [];
setInterval(() => {
  const due = waiting;
  waiting = [];
  for (const socket of due) if (!socket.destroyed) socket.write(answer);
}, roundMs);

/** The requests complete in `data`, each added to `waiting`; returns the bytes after the last. */
function takeRequests(socket: Socket, data: Buffer): Buffer {
  let rest = data;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      if (rest.byteLength > MAX_HEAD_BYTES) socket.destroy();
      return rest;
    }
    const length = /\r\ncontent-length: *(\d+)/i.exec(rest.toString('latin1', 0, headEnd))?.[1];
    const end = headEnd + 4 + Number(length ?? 0);
    if (rest.byteLength < end) return rest;
    waiting.push(socket);
    rest = rest.subarray(end);
  }
}

const server = createServer((socket) => {
  let unread: Buffer | undefined;
  socket.on('data', (chunk: Buffer) => {
    const rest = takeRequests(socket, unread ? Buffer.concat([unread, chunk]) : chunk);
    unread = rest.byteLength > 0 ? rest : undefined;
  });
  // a client gone while its request waits: its answer is dropped with the socket
  socket.on('error', () => undefined);
  socket.setTimeout(5000, () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
