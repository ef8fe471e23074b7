/**
 * The HTTP server's connections and the requests read from them and not answered yet (in flight).
 *
 * Node reads every request a client pipelines as fast as it arrives, and a digest waiting for its round
 * costs some 5 KB: a flood of pipelined requests took 1.2 GB. Here a connection is not read while it
 * has `maxPerConnection` requests in flight (its client waits; TCP holds the rest), and once
 * `maxInFlight` requests are in flight on all connections, a request on a connection with nothing in
 * flight is answered 503 at once and the others wait unread. Node reads up to 64 KiB at a time, so one
 * read can bring more requests than a connection may have in flight: those wait here, unprocessed and
 * in order, until it has room, and once they bring what is held to twice `maxInFlight`, no connection
 * is read until it falls back under that (then what a flood costs depends on the caps alone, not on
 * how many connections it spreads over: 250 connections pipelining 700 each took 890 MB).
 *
 * Every request read gets an answer before its connection ends. Closing, each connection ends once
 * everything read on it is answered and its client has sent nothing more for a moment (it lingers), so
 * that requests its client sent before it saw the close are still read and answered (503); only a
 * client still sending past `maxLingerMs` gets `Connection: close` on its last answer. (Node would
 * destroy an idle connection at once, with a request in its receive buffer, and ends a connection after
 * any answer that says `Connection: close`, dropping the requests pipelined behind it, even those of the
 * same read: up to 151 requests per stop went unanswered.)
 *
 * A request is in flight until its answer is written, not until its client has read it; Node holds the
 * written answers of a client that does not read (and reads no more from it), so a connection whose
 * answers have not moved for `sendTimeoutMs`, or `maxLingerMs` once closing, is closed: such a client
 * once kept every other client out, and any stop waiting, for ever.
 * @module
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseTracker, TrackedResponse } from './tracked-response.js';

/** The app: Node's request listener, on a server whose answers are TrackedResponses. */
export type TrackedListener = (req: IncomingMessage, res: TrackedResponse) => void;

/**
 * Why a connection was closed without its client asking: its client left the answers written to it
 * unread too long (stalled), or it came past `max_connections` (Node closes it at once).
 */
export type ClosedReason = 'stalled' | 'over-cap';

export interface ConnectionLimits {
  /** Requests read from one connection and not answered yet; at it, the connection is not read. */
  maxPerConnection: number;
  /** Requests in flight on all connections; past it, new ones are refused (503) or wait unread. */
  maxInFlight: number;
  /**
   * Longest a closing server keeps an idle connection open while its client is still sending, and a
   * connection whose client does not read the answers written to it.
   */
  maxLingerMs: number;
  /** Longest the answers written to a connection may wait for its client to read them; then it closes. */
  sendTimeoutMs: number;
}

/**
 * How long an idle connection of a closing server is kept open to read what its client already sent:
 * long enough for the event loop to read it under load; extended while bytes keep coming.
 */
const LINGER_MS = 250;

/**
 * A socket of Node's HTTP server. `_paused` is the server's own flag for a connection it stops reading
 * (it sets it when answers back up and clears it once they drain); it is set here too, so that the
 * server's own resume does not undo ours (see `stopReading`).
 */
type ServerSocket = Socket & { _paused?: boolean; parser?: { resume(): void } | null };

interface Connection {
  socket: ServerSocket;
  /** Answers of the requests handed to the app and not finished yet. */
  answering: Set<TrackedResponse>;
  /** Requests read while the connection (or the server) had no room, oldest first. */
  deferred: [IncomingMessage, TrackedResponse][];
  /**
   * The answer of the request read last: it goes out last, after every earlier one (Node writes a
   * connection's answers in the order of their requests, whatever the order they are ended in).
   */
  latest: TrackedResponse | undefined;
  /** Not read for now (see stopReading). */
  held: boolean;
  /** It ends after the answers to the requests read: the server closes, or (cut) it cannot read on. */
  closing: boolean;
  /** Never read again: its last answer said Connection: close, or a request it had begun was cut. */
  done: boolean;
  linger: NodeJS.Timeout | undefined;
  /** The socket's bytes written when last looked at (see sweep), and when they last moved. */
  bytesWritten: number;
  movedAt: number;
}

/**
 * The server given to the constructor must answer with TrackedResponses (createServer's
 * `ServerResponse` option): each answer tells this bookkeeping when it is ended and done.
 */
export class Connections implements ResponseTracker {
  private readonly limits: ConnectionLimits;
  private readonly handle: TrackedListener;
  private readonly connections = new Map<Socket, Connection>();
  /** Connections with deferred requests, in the order they began waiting. */
  private readonly waiting = new Set<Connection>();
  /** Requests read past the server's cap with nothing ahead of them: answered 503 (see `refused`). */
  private readonly refusals = new WeakSet<IncomingMessage>();
  /**
   * Requests read and not answered yet: those handed to the app whose answers are not written yet
   * (TrackedResponse.unwritten), and the deferred ones.
   */
  private inFlight = 0;
  /** Of those, the deferred ones. */
  private deferredCount = 0;
  /** No connection is read: the requests in flight reached twice the cap (see holdAllIfSaturated). */
  private saturated = false;
  private closingSince: number | undefined;
  private readonly onClosed: ((reason: ClosedReason) => void) | undefined;

  /**
   * `handle` is the app: it is given each request once its connection has room. `onClosed` is told of
   * each connection closed for a ClosedReason.
   */
  constructor(
    server: Server,
    limits: ConnectionLimits,
    handle: TrackedListener,
    onClosed?: (reason: ClosedReason) => void,
  ) {
    this.limits = limits;
    this.handle = handle;
    this.onClosed = onClosed;
    // Node closes a connection past server.maxConnections as soon as it is accepted, and says only this
    server.on('drop', () => this.onClosed?.('over-cap'));
    // Node's own listener runs first (the server registered it when it was created)
    server.on('connection', (socket: Socket) => this.connected(socket as ServerSocket));
    // Node destroys a connection with no request in progress as soon as the server closes, and with it
    // a request already in its receive buffer: closing is done here instead (see close())
    server.closeIdleConnections = () => {};
    // the sweep closes connections whose clients do not read their answers (see sweep)
    const every = Math.max(50, Math.min(1000, limits.maxLingerMs / 4, limits.sendTimeoutMs / 4));
    const sweeping = setInterval(() => this.sweep(), every).unref();
    server.once('close', () => clearInterval(sweeping));
  }

  /** Node's 'request' listener. */
  readonly request: TrackedListener = (req, res) => {
    const connection = this.connections.get(req.socket);
    if (!connection) return this.handle(req, res);
    connection.latest = res;
    if (connection.deferred.length === 0) {
      if (this.hasRoom(connection)) return this.start(connection, req, res);
      if (connection.answering.size === 0) {
        // over the server's cap with nothing ahead: the refusal is written at once and costs nothing
        this.refusals.add(req);
        return this.start(connection, req, res);
      }
    }
    connection.deferred.push([req, res]);
    this.inFlight++;
    this.deferredCount++;
    this.waiting.add(connection);
    this.stopReading(connection);
    this.holdAllIfSaturated();
  };

  /** Whether `req` came in over the server's cap, to be answered 503 at once. */
  refused(req: IncomingMessage): boolean {
    return this.refusals.has(req);
  }

  get closing(): boolean {
    return this.closingSince !== undefined;
  }

  /**
   * Told that the answer `res` is about to be sent; returns whether it ends its connection: the last
   * answer of a connection that was cut, or of a closing server past its linger bound. Nothing more is
   * read from it then. Before that bound a closing server's connection ends by lingering (endIfIdle):
   * an answer that ended it would leave unanswered the requests its client sent behind it, in the same
   * read or still in the receive buffer.
   */
  sending(res: TrackedResponse): boolean {
    res.announced = true;
    const connection = this.connections.get(res.req.socket);
    if (!connection?.closing || connection.deferred.length > 0) return false;
    if (!connection.done && !this.lingeredOut()) return false;
    // only the answer last on the wire may end it: Node drops the answers queued behind one that does
    if (res !== connection.latest) return false;
    for (const other of connection.answering) if (!other.announced) return false;
    connection.done = true;
    this.stopReading(connection);
    return true;
  }

  /**
   * From now on each connection ends once everything read on it is answered and it has lingered. The
   * server's close() waits for them all.
   */
  close(): void {
    if (this.closing) return;
    this.closingSince = Date.now();
    for (const connection of this.connections.values()) this.closeAfterAnswers(connection);
  }

  /**
   * Node's request timeout fired on `socket`. When the request was cut by a read this server stopped,
   * its client is not slow but sent more than the server takes: the requests read are answered, the
   * last with Connection: close, and the rest is never read (returns true). Otherwise (false) the
   * client is slow, or a body it began is cut (it cannot be answered in order), and Node's answer
   * stands: 408, and the connection closed.
   */
  cut(socket: Socket): boolean {
    const connection = this.connections.get(socket);
    if (!connection?.held || connection.done) return false;
    const read = [...connection.answering, ...connection.deferred.map(([, res]) => res)];
    if (read.some((res) => !res.req.complete)) return false;
    connection.done = true;
    this.closeAfterAnswers(connection);
    return true;
  }

  /**
   * Whether a request may go to the app. Deferred requests do not count here: were they to, one
   * client's read of hundreds of pipelined requests would keep every other client out.
   */
  private hasRoom(connection: Connection): boolean {
    return (
      connection.answering.size < this.limits.maxPerConnection &&
      this.inFlight - this.deferredCount < this.limits.maxInFlight
    );
  }

  /**
   * Deferred requests, up to one read per connection, are held too: once the requests in flight with
   * them reach twice the cap, no connection is read (new ones included) until they are back under it,
   * so that what a flood makes otsd hold depends on the caps, not on how many connections it uses.
   */
  private holdAllIfSaturated(): void {
    if (this.saturated || this.inFlight < 2 * this.limits.maxInFlight) return;
    this.saturated = true;
    for (const connection of this.connections.values()) this.stopReading(connection);
  }

  /** Reads again, once under twice the cap, the connections held only for it. */
  private releaseAllIfRoom(): void {
    if (!this.saturated || this.inFlight >= 2 * this.limits.maxInFlight) return;
    this.saturated = false;
    for (const connection of this.connections.values())
      if (connection.deferred.length === 0 && connection.answering.size < this.limits.maxPerConnection)
        this.resumeReading(connection);
  }

  private connected(socket: ServerSocket): void {
    const connection: Connection = {
      socket,
      answering: new Set(),
      deferred: [],
      latest: undefined,
      held: false,
      closing: false,
      done: false,
      linger: undefined,
      bytesWritten: 0,
      movedAt: Date.now(),
    };
    this.connections.set(socket, connection);
    // the server resumes reading once its answers drain: a connection held here stays held
    socket.on('resume', () => {
      if (connection.held) this.stopReading(connection);
    });
    // `on`: a socket closes once, and `once` would wrap the listener for the connection's whole life
    socket.on('close', () => this.disconnected(connection));
    if (this.saturated) this.stopReading(connection);
    if (this.closing) this.closeAfterAnswers(connection);
  }

  /** `counted`: a deferred request, already in flight. */
  private start(connection: Connection, req: IncomingMessage, res: TrackedResponse, counted = false): void {
    connection.answering.add(res);
    if (counted) this.deferredCount--;
    else this.inFlight++;
    // a request is answered once its answer is written, not once its client has read it: one that does
    // not read holds no room on other connections (Node emits nothing when an answer queued behind
    // another is ended: the TrackedResponse tells of its end itself)
    res.unwritten = true;
    res.tracker = this;
    if (connection.answering.size >= this.limits.maxPerConnection) this.stopReading(connection);
    this.holdAllIfSaturated();
    this.handle(req, res);
  }

  /** The answer `res` is written (or its connection gone): it is no longer in flight. */
  ended(res: TrackedResponse): void {
    if (!res.unwritten) return;
    res.unwritten = false;
    this.inFlight--;
    this.makeRoom();
    this.releaseAllIfRoom();
  }

  /** The answer `res` is finished, or its connection gone. */
  settled(res: TrackedResponse): void {
    const connection = this.connections.get(res.req.socket);
    if (!connection?.answering.delete(res)) return;
    // the last on the wire is done: it keeps nothing alive until the next request
    if (connection.latest === res) connection.latest = undefined;
    this.ended(res);
    this.makeRoom();
    if (connection.deferred.length === 0 && this.hasRoom(connection)) this.resumeReading(connection);
    this.endIfIdle(connection);
  }

  /** Hands waiting requests to the app while there is room: each connection's in order, oldest first. */
  private makeRoom(): void {
    // nothing waits, as a rule: not even an iterator per answer then
    if (this.waiting.size === 0) return;
    for (const connection of this.waiting) {
      while (connection.deferred.length > 0 && this.hasRoom(connection)) {
        const [req, res] = connection.deferred.shift() as [IncomingMessage, TrackedResponse];
        this.start(connection, req, res, true);
      }
      if (connection.deferred.length > 0) {
        if (this.inFlight - this.deferredCount >= this.limits.maxInFlight) return;
        continue;
      }
      this.waiting.delete(connection);
      if (this.hasRoom(connection)) this.resumeReading(connection);
    }
  }

  private disconnected(connection: Connection): void {
    clearTimeout(connection.linger);
    this.connections.delete(connection.socket);
    this.waiting.delete(connection);
    for (const res of connection.answering)
      if (res.unwritten) {
        res.unwritten = false;
        this.inFlight--;
      }
    this.inFlight -= connection.deferred.length;
    this.deferredCount -= connection.deferred.length;
    connection.answering.clear();
    connection.deferred = [];
    this.makeRoom();
    this.releaseAllIfRoom();
  }

  /**
   * Closes each connection whose client has not read the answers written to it for sendTimeoutMs (or,
   * closing, maxLingerMs): Node buffers them without limit, holds the connection's next requests
   * behind them, and a closing server would wait for them forever.
   */
  private sweep(): void {
    const now = Date.now();
    const stalledMs = this.closing
      ? Math.min(this.limits.maxLingerMs, this.limits.sendTimeoutMs)
      : this.limits.sendTimeoutMs;
    for (const connection of this.connections.values()) {
      const { socket } = connection;
      if (socket.writableLength === 0 || socket.bytesWritten !== connection.bytesWritten) {
        connection.bytesWritten = socket.bytesWritten;
        connection.movedAt = now;
      } else if (now - connection.movedAt >= stalledMs) {
        this.onClosed?.('stalled');
        socket.destroy();
      }
    }
  }

  private closeAfterAnswers(connection: Connection): void {
    connection.closing = true;
    this.endIfIdle(connection);
  }

  /**
   * Ends a closing connection with nothing left to answer. One that may still be read lingers first:
   * it ends once its client has sent nothing for LINGER_MS (a request it sent meanwhile is read and
   * answered, and the linger begins again), or maxLingerMs after the close began. A connection held
   * for the caps is not read, so silence on it says nothing: it lingers on until it is read again.
   */
  private endIfIdle(connection: Connection): void {
    if (!connection.closing || connection.answering.size > 0 || connection.deferred.length > 0) return;
    clearTimeout(connection.linger);
    if (connection.done) {
      connection.socket.destroySoon();
      return;
    }
    const bytesRead = connection.socket.bytesRead;
    connection.linger = setTimeout(() => {
      if (connection.answering.size > 0 || connection.deferred.length > 0) return;
      const quiet = connection.socket.bytesRead === bytesRead && !connection.held;
      if (!quiet && !this.lingeredOut()) return this.endIfIdle(connection);
      connection.socket.destroySoon();
    }, LINGER_MS);
  }

  /** The server has been closing for maxLingerMs: its connections linger no longer. */
  private lingeredOut(): boolean {
    return this.closingSince !== undefined && Date.now() - this.closingSince >= this.limits.maxLingerMs;
  }

  /**
   * Stops reading the connection as Node's server itself does when answers back up (see ServerSocket):
   * its 'pause' listener stops the socket's reads; the requests of a read are all parsed.
   */
  private stopReading(connection: Connection): void {
    connection.held = true;
    connection.socket._paused = true;
    connection.socket.pause();
  }

  private resumeReading(connection: Connection): void {
    if (!connection.held || connection.done || this.saturated) return;
    connection.held = false;
    connection.socket._paused = false;
    connection.socket.parser?.resume();
    connection.socket.resume();
  }
}
