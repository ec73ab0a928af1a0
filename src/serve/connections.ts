/**
 * The connection side of the service: deadlines for clients that send their request too slowly, and
 * a shutdown that answers what arrives on connections already open and ends at a deadline.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { PassThrough, type Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { ServeError } from './errors.js';

/** How long a client may take to send its request. */
export interface RequestDeadlines {
  /** The request headers must arrive within this many ms of the request's start. */
  readonly headersMs: number;
  /** The whole request, headers and body, must arrive within this many ms of its start. */
  readonly requestMs: number;
  /** The longest pause in a request body, in ms. */
  readonly bodyIdleMs: number;
}

/** `1500` -> `1.5 s`. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Node's HTTP server options for the header and whole-request deadlines. Node checks them every
 * `connectionsCheckingInterval` ms (30 s by default): here a quarter of the shorter deadline, at
 * most a second, so that a deadline is enforced within a quarter of its length.
 */
export function nodeDeadlineOptions(d: RequestDeadlines): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = Math.min(d.headersMs, d.requestMs);
  return {
    headersTimeout,
    requestTimeout: d.requestMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

/**
 * The body of `raw` as the stream the JSON parser reads: it fails with 408 `request_timeout` when no
 * byte arrives for `idleMs` (the parser's error answer then closes the connection). A body that
 * keeps trickling is stopped by the whole-request deadline instead. The watch ends with the body,
 * or with `response`.
 */
export function watchedBody(raw: IncomingMessage, response: ServerResponse, idleMs: number): Readable {
  const body = new PassThrough();
  let done = false;
  const stop = () => {
    done = true;
    clearTimeout(timer);
  };
  const timer = setTimeout(() => {
    stop();
    raw.unpipe(body);
    body.destroy(new ServeError('request_timeout', `no byte of the request body arrived for ${seconds(idleMs)}; send the whole body without pausing`));
  }, idleMs).unref();
  raw.on('data', () => {
    if (!done) timer.refresh();
  });
  raw.once('end', stop);
  response.once('close', stop);
  raw.once('error', (e) => {
    stop();
    body.destroy(e);
  });
  raw.once('close', () => {
    if (done) return;
    stop();
    if (!raw.complete) body.destroy(new ServeError('cancelled', 'the client went away before sending the whole body'));
  });
  raw.pipe(body);
  return body;
}

/** Whether `request` has a body that may be slow to arrive: a request with a Content-Length above 0 or a chunked one. */
export function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Answers what Node's HTTP parser refuses (bad framing, oversize headers, a request that did not
 * arrive in time) with the JSON error, then closes the connection. Nothing is written when an
 * answer has already begun on it.
 */
export function clientErrorHandler(deadlines: RequestDeadlines): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) return void socket.destroy();
    const e = clientError(err, inFlight != null, deadlines);
    const body = JSON.stringify(e.toJSON());
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

function clientError(err: NodeJS.ErrnoException, headersReceived: boolean, d: RequestDeadlines): ServeError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return headersReceived
        ? new ServeError('request_timeout', `the request did not arrive within ${seconds(d.requestMs)}; send the whole request at once`)
        : new ServeError('request_timeout', `the request headers did not arrive within ${seconds(Math.min(d.headersMs, d.requestMs))}`);
    case 'HPE_HEADER_OVERFLOW':
      return new ServeError('headers_too_large', `the request headers are larger than the server accepts (${err.code})`);
    default:
      return new ServeError('invalid_request', `malformed HTTP request (${err.code ?? err.message})`);
  }
}

/** The requests a server has received and not yet finished answering. */
export class OpenRequests {
  private readonly open = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];

  constructor(server: Server) {
    server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
      this.open.add(response);
      response.once('close', () => {
        this.open.delete(response);
        if (this.open.size === 0) for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  /** How many are open. */
  get size(): number {
    return this.open.size;
  }

  /** Resolves once none is open. */
  settled(): Promise<void> {
    return this.open.size === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Answers every request whose answer has not begun with `error` (and `Connection: close`). */
  answerUnanswered(error: ServeError): void {
    const body = JSON.stringify(error.toJSON());
    for (const response of this.open) {
      if (response.headersSent || response.writableEnded) continue;
      response.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      response.end(body);
    }
  }
}

/**
 * Stops `server` accepting connections while those already open stay up, so that requests arriving
 * on them during a shutdown are answered (Node's own `close()` drops idle keep-alive connections at
 * once, and stops checking the request deadlines).
 */
export function stopAccepting(server: Server): void {
  if (server.listening) NetServer.prototype.close.call(server);
}

/** Whether `promise` settles within `ms` (resolves false on time-out, never rejects). */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
