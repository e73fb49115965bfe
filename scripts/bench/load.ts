/**
 * A closed-loop HTTP/1.1 load generator for the benches: `connections` keep-alive connections, each sending
 * the next ready-made request as soon as the previous one is answered, for `seconds`.
 *
 * Why not autocannon alone: on this project's 2-core machine the load generator shares the cores with the
 * server it measures, nats-server and Postgres, and autocannon spends 60–70 µs of CPU per request building
 * each request, parsing each response and recording it, more than a bare `node:http` server spends answering
 * it. This one sends bytes prepared before the run and reads only the status line and the framing of each
 * response, so the cores go to what is measured (bench:gateway prints both generators' CPU per request with
 * `--generator`). It speaks only what the benches need: requests with a body and a Content-Length, responses
 * framed by Content-Length or chunked.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request, ready to send: head and body, as bytes. */
export type RawRequest = Buffer;

/** Builds a {@link RawRequest} for `POST path` with the headers and body given. */
export function rawRequest(path: string, headers: Record<string, string>, body: string): RawRequest {
  const bodyBytes = Buffer.from(body);
  let head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${bodyBytes.length}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), bodyBytes]);
}

export interface LoadOptions {
  port: number;
  host?: string;
  connections: number;
  seconds: number;
  /** The next request to send; called once per request. */
  next: () => RawRequest;
  /** A request not answered within this long counts as an error and its connection is replaced. @default 5000 */
  timeoutMs?: number;
}

export interface LoadResult {
  /** Responses with a 2xx status, including those that arrived after the run's end (nothing is left unread). */
  ok: number;
  /** Responses with any other status. */
  non2xx: number;
  /** Connection errors, closes mid-request and timeouts. */
  errors: number;
  /** Responses (of any status) that arrived within the run, per second. */
  rps: number;
  /** Latency percentiles in milliseconds, over every response. */
  p50: number;
  p99: number;
}

/** Where a response ends in `buf` (starting at 0), its status, or undefined while it is incomplete. */
export function parseResponse(buf: Buffer): { end: number; status: number; close: boolean } | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  if (!head.startsWith('http/1.1 ') || !Number.isInteger(status)) {
    throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(head.slice(0, 40))}`);
  }
  const close = /\r\nconnection: *close/.test(head);
  const bodyStart = headEnd + 4;
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    return end <= buf.length ? { end, status, close } : undefined;
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (Number.isNaN(size)) throw new Error('malformed chunk size in a response');
      // a chunk: its data and CRLF; the last (size 0) ends with the CRLF of the (empty) trailer
      at = lineEnd + 2 + size + 2;
      if (at > buf.length) return undefined;
      if (size === 0) return { end: at, status, close };
    }
  }
  // no framing: a response without a body (204, 304) or one ended by closing, which these benches never send
  if (status === 204 || status === 304) return { end: bodyStart, status, close };
  throw new Error(`a ${status} response framed neither by content-length nor chunked`);
}

/** Runs the load; resolves when every connection has had its last answer (or error) after `seconds`. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { port, host = '127.0.0.1', connections, seconds, next, timeoutMs = 5_000 } = options;
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let inWindow = 0;
  const started = performance.now();
  const endAt = started + seconds * 1000;
  let open = 0;

  return new Promise((resolve) => {
    const finishOne = () => {
      open--;
      if (open > 0) return;
      clearInterval(sweep);
      latencies.sort((a, b) => a - b);
      const at = (q: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
      resolve({
        ok,
        non2xx,
        errors,
        rps: inWindow / seconds,
        p50: Math.round(at(0.5) * 10) / 10,
        p99: Math.round(at(0.99) * 10) / 10,
      });
    };

    /** Each connection: when its outstanding request was sent (0: none), and how to give it up. */
    const lanes: { sentAt: number; fail: () => void }[] = [];
    // one timer for every connection: a request outstanding longer than the timeout is an error
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const lane of lanes) if (lane.sentAt > 0 && now - lane.sentAt > timeoutMs) lane.fail();
    }, 250);

    const startLane = () => {
      open++;
      let socket: Socket;
      let pending: Buffer | undefined;
      const lane = { sentAt: 0, fail: () => {} };
      lanes.push(lane);
      const stop = () => {
        lane.sentAt = 0;
        socket.removeAllListeners();
        socket.on('error', () => {});
      };
      const send = () => {
        if (performance.now() >= endAt) {
          stop();
          socket.end();
          finishOne();
          return;
        }
        lane.sentAt = performance.now();
        socket.write(next());
      };
      const reconnect = () => {
        stop();
        socket.destroy();
        if (performance.now() >= endAt) finishOne();
        else setTimeout(connectLane, 10);
      };
      lane.fail = () => {
        errors++;
        reconnect();
      };
      const connectLane = () => {
        pending = undefined;
        socket = connect({ port, host, noDelay: true });
        socket.on('connect', send);
        socket.on('data', (chunk: Buffer) => {
          pending = pending ? Buffer.concat([pending, chunk]) : chunk;
          let response: ReturnType<typeof parseResponse>;
          try {
            response = parseResponse(pending);
          } catch {
            return lane.fail();
          }
          if (!response) return;
          const now = performance.now();
          latencies.push(now - lane.sentAt);
          if (response.status >= 200 && response.status < 300) ok++;
          else non2xx++;
          if (now <= endAt) inWindow++;
          pending = response.end < pending.length ? pending.subarray(response.end) : undefined;
          if (response.close) reconnect();
          else send();
        });
        socket.on('error', lane.fail);
        socket.on('close', lane.fail);
      };
      connectLane();
    };
    for (let i = 0; i < connections; i++) startLane();
  });
}
