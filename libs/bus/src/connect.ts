import { UnavailableError } from '@konstruct/core';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** A NATS connection with its JetStream client and manager. */
export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** Options for {@link connectBus}. */
export interface ConnectBusOptions {
  url: string;
  /** The connection's name, as the server shows it. */
  name: string;
  /** How long to keep trying at start-up. @default 10_000 */
  timeoutMs?: number;
  user?: string;
  pass?: string;
  /**
   * Capture an async stack trace for every request and publish, for errors that say where they were called.
   * Costs two Error objects per JetStream publish; hot paths (the gateway) turn it off. @default true
   */
  asyncTraces?: boolean;
}

/**
 * Connects to NATS and JetStream. Reconnects forever once connected; fails with {@link UnavailableError}
 * when the server does not answer at start-up.
 */
export async function connectBus({
  url,
  name,
  timeoutMs = 10_000,
  user,
  pass,
  asyncTraces = true,
}: ConnectBusOptions): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(','),
      name,
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      noAsyncTraces: !asyncTraces,
      ...(user ? { user, pass } : {}),
    });
  } catch (error) {
    throw new UnavailableError(`cannot reach NATS at ${url}: ${(error as Error).message}`, { cause: error });
  }
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm };
}
