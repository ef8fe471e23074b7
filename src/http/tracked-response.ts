/**
 * The server's answers (node:http's `ServerResponse` option): each tells, through fields set once per
 * request, when it is ended and when it is done, to the connection bookkeeping (connections.ts) and to
 * its request's account (fast-path.ts). A closure, a wrapped `end` and two `once` listeners per request
 * cost as much as the rest of otsd's own work on a cached GET /timestamp; these are prototype methods.
 * @module
 */
import { type IncomingMessage, ServerResponse } from 'node:http';

/** Told of the answers of the requests it handed to the app (connections.ts). */
export interface ResponseTracker {
  /** `res.end()` returned: the answer is written, or queued behind its connection's earlier answers. */
  ended(res: TrackedResponse): void;
  /** `res` emitted 'finish' (its bytes went to the socket) or 'close' (its connection is gone). */
  settled(res: TrackedResponse): void;
}

/** Told once an answer's bytes went to the socket ('finish'); never for an answer not written. */
export interface FinishedAnswer {
  finished(): void;
}

/**
 * The last answer finished of each method, kept until the next: V8 keeps the shapes (maps) an answer
 * and its request pass through, which the inline caches of Node's request path point to weakly, only
 * while one of them lives. A full garbage collection with none alive (an idle moment; the start's
 * full index check makes several) frees them, and answers made after it set their fields through
 * V8's runtime for the rest of the process, as nextTick's entries did (src/daemon/tick-shapes.ts):
 * some otsd processes answered the status page at 70-95 us where others of the same calendar took
 * 45-58 (in profiles: Node's ServerResponse constructor in map transitions and dictionary
 * properties). Alternated with the code before, 8 of 20 such processes were slow before, none of 20
 * with an answer kept (12 keeping the last of any method, 8 this map). The methods are llhttp's fixed
 * list (at most 34 reach an answer: CONNECT goes to the server's 'connect' listener). Each kept
 * answer keeps its request, headers and all, and through its socket the server, until the next
 * answer of its method: a heap snapshot shows them.
 */
const lastAnswers = new Map<string | undefined, TrackedResponse>();

export class TrackedResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  /** Set when the request goes to the app through connections.ts. */
  tracker: ResponseTracker | undefined = undefined;
  /** The tracker's: the request is in flight, its answer not ended yet. */
  unwritten = false;
  /** The tracker's: it was told the answer is about to be sent (`Connections.sending`). */
  announced = false;
  /** The request's account, told after the tracker. */
  account: FinishedAnswer | undefined = undefined;

  // biome-ignore lint/suspicious/noExplicitAny: end's overloads, passed on as they came
  override end(chunk?: any, encoding?: any, callback?: any): this {
    super.end(chunk, encoding, callback);
    this.tracker?.ended(this);
    return this;
  }

  /** After every listener (Node's own first: the next pipelined answer is given the socket there). */
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's signature
  override emit(event: string | symbol, ...args: any[]): boolean {
    const listened = super.emit(event, ...args);
    if (event === 'finish') {
      lastAnswers.set(this.req.method, this);
      this.tracker?.settled(this);
      this.account?.finished();
    } else if (event === 'close') this.tracker?.settled(this);
    return listened;
  }
}
