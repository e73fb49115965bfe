import type { KonstructMessage } from '@konstruct/contracts';
import { type Database, resolveConnection } from '@konstruct/db';
import {
  createSlackClient,
  createWhatsAppClient,
  type FetchLike,
  type SlackClient,
  type WhatsAppClient,
} from '@konstruct/platforms';

/** Where and how to talk back to the platform a message came from, or why we cannot. */
export type PlatformLink =
  | { kind: 'slack'; client: SlackClient }
  | { kind: 'whatsapp'; client: WhatsAppClient }
  /** The tenant's setup is wrong; `reason` is one line an operator can act on. */
  | { kind: 'misconfigured'; reason: string };

/** Options for {@link createPlatformLinks}. */
export interface PlatformLinksOptions {
  orm: Database;
  /** The key channel credentials are sealed with. */
  credentialsKey: Buffer;
  /** `SLACK_API_BASE_URL`. */
  slackBaseUrl: string;
  /** `WHATSAPP_GRAPH_BASE_URL`. */
  graphBaseUrl: string;
  /** `WHATSAPP_GRAPH_API_VERSION`. */
  graphApiVersion: string;
  /** How long one platform call may take. @default 10_000 */
  timeoutMs?: number;
  fetch?: FetchLike;
}

/** Opens a client for the connection a message came through. */
export interface PlatformLinks {
  /** Looks up the message's channel connection and returns a client with its token, or why not. */
  linkFor(message: KonstructMessage): Promise<PlatformLink>;
}

/**
 * Resolves a message's workspace to its channel connection (through the one cross-tenant lookup), checks it
 * still belongs to the message's tenant and is enabled, and opens a client with the connection's own token.
 * Base URLs and the Graph API version come from config, tokens from the connection.
 */
export function createPlatformLinks({
  orm,
  credentialsKey,
  slackBaseUrl,
  graphBaseUrl,
  graphApiVersion,
  timeoutMs = 10_000,
  fetch,
}: PlatformLinksOptions): PlatformLinks {
  return {
    async linkFor(message) {
      const { channel, workspaceId, tenantId } = message;
      const connection = await resolveConnection(orm, credentialsKey, channel, workspaceId);
      if (!connection) {
        return { kind: 'misconfigured', reason: `no ${channel} connection for workspace ${workspaceId}` };
      }
      // a workspace moved to another tenant since the message arrived: never answer with that tenant's token
      if (connection.tenantId !== tenantId) {
        return {
          kind: 'misconfigured',
          reason: `${channel} workspace ${workspaceId} is now connected to another tenant`,
        };
      }
      if (!connection.enabled) {
        return {
          kind: 'misconfigured',
          reason: `${channel} connection ${connection.connectionId} is disabled`,
        };
      }
      const extra = fetch ? { fetch } : {};
      if (channel === 'slack') {
        const token = connection.credentials.botToken;
        if (!token) return { kind: 'misconfigured', reason: 'connection has no bot token' };
        return {
          kind: 'slack',
          client: createSlackClient({ baseUrl: slackBaseUrl, token, timeoutMs, ...extra }),
        };
      }
      if (channel === 'whatsapp') {
        const accessToken = connection.credentials.accessToken;
        if (!accessToken) return { kind: 'misconfigured', reason: 'connection has no access token' };
        return {
          kind: 'whatsapp',
          client: createWhatsAppClient({
            baseUrl: graphBaseUrl,
            apiVersion: graphApiVersion,
            accessToken,
            phoneNumberId: workspaceId,
            timeoutMs,
            ...extra,
          }),
        };
      }
      return { kind: 'misconfigured', reason: `no delivery adapter for channel ${channel}` };
    },
  };
}
