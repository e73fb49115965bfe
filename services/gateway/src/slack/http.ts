import type { IncomingMessage } from 'node:http';
import type { Clock, Logger } from '@konstruct/core';
import { ValidationError } from '@konstruct/core';
import { z } from 'zod';
import type { ConnectionCache } from '../connections.ts';
import { readBody, requireJson, tryParseJson } from '../http/body.ts';
import type { WebhookHandler } from '../http/webhook.ts';
import type { Ingest } from '../ingest.ts';
import { decideSlackEvent, SlackPayload, slackWorkspaceCandidates } from './normalise.ts';
import { checkSlackTimestamp, verifySlackSignature } from './verify.ts';

/** What `POST /slack/events` needs. */
export interface SlackEventsDeps {
  /** The Slack app's signing secret; a connection's own `signingSecret` takes its place. */
  signingSecret: string;
  /** How far `X-Slack-Request-Timestamp` may be from now. */
  timestampToleranceMs: number;
  bodyLimit: number;
  connections: ConnectionCache;
  ingest: Ingest;
  clock: Clock;
  logger: Logger;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The `workspace` query parameter of a Request URL, when it looks like a Slack team or enterprise id. */
function workspaceHint(url: string | undefined): string | undefined {
  const query = url?.indexOf('?') ?? -1;
  if (query < 0) return undefined;
  const id = new URLSearchParams(url!.slice(query + 1)).get('workspace');
  return id && /^[TE][A-Z0-9]{2,30}$/.test(id) ? id : undefined;
}

/**
 * `POST /slack/events`. In this order, so nothing is trusted before it is proven: content type (415), size
 * (413), timestamp window (401); then the body is parsed only far enough to find the workspace and so the
 * signing secret (the connection's own, or the app's), the v0 signature is verified (401), and only then is
 * the payload read (400) and acted on. Answers 200 only after JetStream stored what had to be stored.
 */
export function slackEventsHandler(deps: SlackEventsDeps): WebhookHandler {
  const { connections, ingest, clock, logger } = deps;
  return async (req) => {
    requireJson(req);
    const raw = await readBody(req, deps.bodyLimit);
    const signature = header(req, 'x-slack-signature');
    const timestamp = checkSlackTimestamp(
      { timestamp: header(req, 'x-slack-request-timestamp'), signature },
      clock.now(),
      deps.timestampToleranceMs,
    );
    const json = tryParseJson(raw);
    if (!json.ok) {
      // prove the sender before telling it anything about its body
      verifySlackSignature(deps.signingSecret, timestamp, signature!, raw);
      throw new ValidationError(`body is not JSON: ${json.reason}`);
    }
    const candidates = slackWorkspaceCandidates(json.value);
    // A tenant with its own Slack app points its Request URL at /slack/events?workspace=<team id>: Slack's
    // url_verification names no team, so this is the only way to know whose secret signed it. Only for a
    // payload that names no workspace: what an event belongs to is always what Slack says, never the URL.
    const hinted = candidates.length === 0 ? workspaceHint(req.url) : undefined;
    if (hinted) candidates.push(hinted);
    const connection = candidates.length > 0 ? await connections.first('slack', candidates) : undefined;
    verifySlackSignature(
      connection?.credentials.signingSecret ?? deps.signingSecret,
      timestamp,
      signature!,
      raw,
    );

    const parsed = SlackPayload.safeParse(json.value);
    if (!parsed.success) {
      throw new ValidationError(
        `not a Slack Events API payload: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
      );
    }
    const payload = parsed.data;
    if (payload.type === 'url_verification') {
      return { outcome: 'challenge', json: { challenge: payload.challenge } };
    }
    if (payload.type === 'app_rate_limited') {
      logger.warn(
        { payload: { ...payload, token: undefined } },
        'Slack is rate-limiting event deliveries to the app',
      );
      return { outcome: 'noted' };
    }

    const retry = header(req, 'x-slack-retry-num');
    if (!connection) {
      const workspaceId = candidates[0] ?? '';
      await ingest.unrouted(
        'slack',
        workspaceId,
        `slack:${workspaceId}:${payload.event_id}`,
        workspaceId
          ? `no tenant has connected Slack workspace ${workspaceId}`
          : 'the payload names no workspace',
      );
      return { outcome: 'unrouted' };
    }

    const decision = decideSlackEvent(payload, connection);
    if (decision.action === 'drop') {
      logger.debug(
        { tenantId: connection.tenantId, slackEventId: payload.event_id, reason: decision.reason },
        'dropped: never for an agent',
      );
      return { outcome: 'dropped' };
    }
    const result = await ingest.received(decision.eventId, decision.message);
    if (result.duplicate) {
      logger.debug(
        { tenantId: connection.tenantId, eventId: decision.eventId, correlationId: decision.eventId, retry },
        'duplicate delivery (a retry, or the app_mention/message twin of a stored post)',
      );
    }
    return { outcome: result.duplicate ? 'duplicate' : 'stored' };
  };
}
