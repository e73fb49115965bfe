import type { PublishResult } from '@konstruct/bus';
import type { Logger } from '@konstruct/core';
import { ValidationError } from '@konstruct/core';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Connection, ConnectionCache } from '../connections.ts';
import { readBody, requireJson, tryParseJson } from '../http/body.ts';
import type { WebhookHandler } from '../http/webhook.ts';
import type { Ingest } from '../ingest.ts';
import {
  decideWhatsAppChange,
  WhatsAppValue,
  WhatsAppWebhook,
  whatsAppPhoneNumberIds,
  whatsAppPlatformIds,
} from './normalise.ts';
import { answerHandshake, verifyWhatsAppSignature } from './verify.ts';

/** What the WhatsApp webhook routes need. */
export interface WhatsAppDeps {
  /** The Meta app secret; a connection's own `appSecret` takes its place for its phone number. */
  appSecret: string;
  verifyToken: string;
  bodyLimit: number;
  connections: ConnectionCache;
  ingest: Ingest;
  logger: Logger;
}

function first(value: unknown): string | undefined {
  return typeof value === 'string'
    ? value
    : Array.isArray(value) && typeof value[0] === 'string'
      ? value[0]
      : undefined;
}

/** `GET /whatsapp/webhook`: the `hub.challenge` handshake; 403 when the verify token does not match. */
export function whatsAppHandshakeHandler({ verifyToken }: Pick<WhatsAppDeps, 'verifyToken'>): RequestHandler {
  return (req, res) => {
    const challenge = answerHandshake(
      {
        mode: first(req.query['hub.mode']),
        token: first(req.query['hub.verify_token']),
        challenge: first(req.query['hub.challenge']),
      },
      verifyToken,
    );
    res.locals.outcome = 'challenge';
    res.status(200).type('text/plain').setHeader('X-Content-Type-Options', 'nosniff').send(challenge);
  };
}

/**
 * `POST /whatsapp/webhook`. Content type (415) and size (413) first; the body is parsed only far enough to find
 * its phone numbers and so their secrets, `X-Hub-Signature-256` is verified under each (401), then the whole
 * webhook is read (400) before anything is published, so a bad webhook publishes nothing. Every message and
 * every receipt of every entry and change is its own event; all are stored before the 200.
 */
export function whatsAppWebhookHandler(deps: WhatsAppDeps): WebhookHandler {
  const { connections, ingest, logger } = deps;
  return async (req) => {
    requireJson(req);
    const raw = await readBody(req, deps.bodyLimit);
    const signature = first(req.headers['x-hub-signature-256']);
    const json = tryParseJson(raw);
    if (!json.ok) {
      verifyWhatsAppSignature(deps.appSecret, signature, raw);
      throw new ValidationError(`body is not JSON: ${json.reason}`);
    }
    const phoneNumberIds = whatsAppPhoneNumberIds(json.value);
    const byNumber = new Map<string, Connection | undefined>();
    await Promise.all(
      phoneNumberIds.map(async (id) => byNumber.set(id, await connections.get('whatsapp', id))),
    );
    // Every phone number in the webhook must be vouched for by its own secret: one Meta app signs a request.
    const secrets = new Set<string>();
    for (const id of phoneNumberIds) secrets.add(byNumber.get(id)?.credentials.appSecret ?? deps.appSecret);
    if (secrets.size === 0) secrets.add(deps.appSecret);
    for (const secret of secrets) verifyWhatsAppSignature(secret, signature, raw);

    const parsed = WhatsAppWebhook.safeParse(json.value);
    if (!parsed.success) throw invalid('not a WhatsApp Cloud API webhook', parsed.error);

    const jobs: (() => Promise<PublishResult>)[] = [];
    let skipped = 0;
    for (const entry of parsed.data.entry) {
      for (const change of entry.changes) {
        if (change.field !== 'messages') {
          logger.debug({ field: change.field }, 'ignored: not a messages change');
          continue;
        }
        const value = WhatsAppValue.safeParse(change.value);
        if (!value.success) throw invalid('a messages change', value.error);
        const phoneNumberId = value.data.metadata.phone_number_id;
        const connection = byNumber.get(phoneNumberId);
        if (!connection) {
          for (const platformId of whatsAppPlatformIds(value.data)) {
            jobs.push(() =>
              ingest.unrouted(
                'whatsapp',
                phoneNumberId,
                platformId,
                `no tenant has connected WhatsApp phone number ${phoneNumberId}`,
              ),
            );
          }
          continue;
        }
        for (const item of decideWhatsAppChange(value.data, connection)) {
          if (item.kind === 'message') jobs.push(() => ingest.received(item.eventId, item.message));
          else if (item.kind === 'status')
            jobs.push(() => ingest.status(item.eventId, connection.tenantId, item.data));
          else {
            skipped++;
            logger.warn(
              { tenantId: connection.tenantId, platformId: item.platformId, reason: item.reason },
              'skipped',
            );
          }
        }
      }
    }
    const results = await Promise.all(jobs.map((job) => job()));
    const routed = results.length > 0 && [...byNumber.values()].some((c) => c !== undefined);
    const outcome =
      results.length === 0
        ? skipped > 0
          ? 'dropped'
          : 'empty'
        : !routed
          ? 'unrouted'
          : results.every((r) => r.duplicate)
            ? 'duplicate'
            : 'stored';
    return { outcome };
  };
}

function invalid(what: string, error: z.ZodError): ValidationError {
  return new ValidationError(`${what}: ${z.prettifyError(error).replaceAll('\n', '; ')}`, { cause: error });
}
