import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.ts';

/**
 * Throws {@link UnsupportedMediaTypeError} unless the request says its body is JSON (`application/json`, any
 * parameters such as `charset`) and is not compressed: the signature covers the bytes as sent, and neither
 * Slack nor Meta compress webhooks.
 */
export function requireJson(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  const media = type?.split(';', 1)[0]?.trim().toLowerCase();
  if (media !== 'application/json') {
    throw new UnsupportedMediaTypeError(
      `expected application/json, got ${type ? JSON.stringify(type) : 'none'}`,
    );
  }
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new UnsupportedMediaTypeError(`content-encoding ${JSON.stringify(encoding)} is not accepted`);
  }
}

/**
 * Reads the exact raw body (the bytes the platform signed), refusing with {@link PayloadTooLargeError} as soon
 * as it is known to exceed `limit`: at once from `Content-Length`, or mid-stream for a chunked body, without
 * reading the rest. The caller's error handler closes the connection so the unread remainder is never drained.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(
      new PayloadTooLargeError(`body of ${declared} bytes exceeds the limit of ${limit}`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    function cleanup() {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    }
    function onData(chunk: Buffer) {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new PayloadTooLargeError(`body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    }
    function onEnd() {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    }
    function onError(error: Error) {
      cleanup();
      reject(error);
    }
    function onAborted() {
      cleanup();
      reject(new Error('request aborted by the client'));
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** The outcome of {@link tryParseJson}. */
export type JsonResult = { ok: true; value: unknown } | { ok: false; reason: string };

/** Parses JSON without throwing, so the caller can verify the signature before choosing between 400 and 401. */
export function tryParseJson(raw: Buffer): JsonResult {
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
