import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseResponse, rawRequest, runLoad } from '../scripts/bench/load.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A node:http server on a free loopback port; answers each request with `answer`. */
async function serve(answer: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(answer);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('the benches’ load generator', () => {
  it('sends every request it counts, bodies intact, and counts 2xx apart from the rest', async () => {
    const bodies: string[] = [];
    const port = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        bodies.push(body);
        const n = Number(JSON.parse(body).n);
        // every fifth answer is a problem; every third comes chunked (no content-length)
        res.statusCode = n % 5 === 0 ? 400 : 200;
        if (n % 3 === 0) res.write('part one, ');
        res.end('done');
      });
    });
    let n = 0;
    const result = await runLoad({
      port,
      connections: 4,
      seconds: 0.5,
      next: () => rawRequest('/x', { 'content-type': 'application/json' }, JSON.stringify({ n: n++ })),
    });
    expect(result.errors).toBe(0);
    expect(result.ok + result.non2xx).toBe(n);
    expect(bodies).toHaveLength(n);
    expect(new Set(bodies).size).toBe(n);
    expect(result.non2xx).toBe(Math.floor((n - 1) / 5) + 1);
    expect(result.rps).toBeGreaterThan(0);
    expect(result.p99).toBeGreaterThanOrEqual(result.p50);
  });

  it('counts a request left unanswered past the timeout as an error and carries on', async () => {
    let seen = 0;
    const port = await serve((req, res) => {
      req.resume();
      // the first request hangs; the rest are answered
      if (seen++ > 0) req.on('end', () => res.end('ok'));
    });
    const result = await runLoad({
      port,
      connections: 1,
      seconds: 1,
      timeoutMs: 300,
      next: () => rawRequest('/x', {}, '{}'),
    });
    expect(result.errors).toBe(1);
    expect(result.ok).toBeGreaterThan(0);
  });

  it('frames responses by content-length or chunks, and waits for the rest of either', () => {
    const fixed = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1');
    expect(parseResponse(fixed)).toEqual({ end: fixed.indexOf('hello') + 5, status: 200, close: false });
    expect(parseResponse(fixed.subarray(0, fixed.indexOf('hello') + 3))).toBeUndefined();
    const chunked = Buffer.from(
      'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    expect(parseResponse(chunked)).toEqual({ end: chunked.length, status: 503, close: true });
    expect(parseResponse(chunked.subarray(0, chunked.length - 2))).toBeUndefined();
    expect(() => parseResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/not an HTTP\/1.1 response/);
  });
});
