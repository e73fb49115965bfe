import type { ChannelType } from '@konstruct/contracts';
import { type Clock, isAppError, UnavailableError } from '@konstruct/core';

/** What the gateway needs to know about the connection a webhook arrived through. */
export interface Connection {
  tenantId: string;
  connectionId: string;
  /** The workspace id the connection is stored under (Slack team or enterprise id, WhatsApp phone number id). */
  workspaceId: string;
  enabled: boolean;
  /** Non-secret settings: Slack `botUserId`, `botId`; WhatsApp `displayPhoneNumber`. */
  settings: Record<string, string>;
  /** Opened credentials; the gateway reads only `signingSecret` (Slack) and `appSecret` (WhatsApp). */
  credentials: Record<string, string>;
}

/**
 * Looks a workspace up across tenants (libs/db `resolveConnection` in production); `undefined` when no tenant
 * has connected it.
 */
export type ResolveConnection = (
  channel: ChannelType,
  workspaceId: string,
) => Promise<Omit<Connection, 'workspaceId'> | undefined>;

/** Options for {@link createConnectionCache}. */
export interface ConnectionCacheOptions {
  resolve: ResolveConnection;
  clock: Clock;
  /** How long a found connection is trusted. @default 30_000 */
  ttlMs?: number;
  /** How long "not connected" is trusted, shorter so a fresh connection starts routing soon. @default 5_000 */
  missTtlMs?: number;
  /** Entries kept before the oldest are evicted. @default 10_000 */
  maxEntries?: number;
}

/** A short-lived in-process cache in front of {@link ResolveConnection}. */
export interface ConnectionCache {
  /** The connection of a workspace, or `undefined`; throws {@link UnavailableError} when the lookup fails. */
  get(channel: ChannelType, workspaceId: string): Promise<Connection | undefined>;
  /** The first of `workspaceIds` that is connected, or `undefined` when none is. */
  first(channel: ChannelType, workspaceIds: readonly string[]): Promise<Connection | undefined>;
}

interface Entry {
  value: Promise<Connection | undefined>;
  expiresAt: number;
}

/**
 * Caches workspace → connection lookups so the hot path does not query Postgres per request. Misses are cached
 * too (briefly), since an unconnected workspace can send as much traffic as a connected one. Concurrent lookups
 * of one key share a single query; a failed lookup is not cached.
 */
export function createConnectionCache({
  resolve,
  clock,
  ttlMs = 30_000,
  missTtlMs = 5_000,
  maxEntries = 10_000,
}: ConnectionCacheOptions): ConnectionCache {
  const entries = new Map<string, Entry>();

  function get(channel: ChannelType, workspaceId: string): Promise<Connection | undefined> {
    const key = `${channel}:${workspaceId}`;
    const now = clock.now();
    const hit = entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const entry: Entry = { value: lookup(), expiresAt: now + ttlMs };
    entries.delete(key);
    entries.set(key, entry);
    if (entries.size > maxEntries) {
      // Map iteration is insertion order: the first key is the oldest.
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    return entry.value;

    async function lookup(): Promise<Connection | undefined> {
      try {
        const found = await resolve(channel, workspaceId);
        if (!found) entry.expiresAt = clock.now() + missTtlMs;
        return found ? { ...found, workspaceId } : undefined;
      } catch (error) {
        if (entries.get(key) === entry) entries.delete(key);
        if (isAppError(error) && error instanceof UnavailableError) throw error;
        throw new UnavailableError(`cannot resolve ${channel} workspace ${workspaceId}`, { cause: error });
      }
    }
  }

  return {
    get,
    async first(channel, workspaceIds) {
      for (const id of workspaceIds) {
        const found = await get(channel, id);
        if (found) return found;
      }
      return undefined;
    },
  };
}
