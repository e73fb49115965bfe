import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, type Logger, systemClock } from '@konstruct/core';
import type { Express } from 'express';
import { createPool, type Pool } from './completion/pool.ts';
import { createHttpApp } from './http.ts';
import { createOllamaProvider } from './providers/ollama.ts';
import { createOpenAiProvider } from './providers/openai.ts';
import type { Provider } from './providers/provider.ts';
import { type LlmConfig, loadPoolSettings, type PoolSettings } from './settings.ts';

export { AllChoicesFailedError, type Attempt, type Pool, type PoolHealth } from './completion/pool.ts';
export type { Provider, ProviderAnswer, ProviderCall } from './providers/provider.ts';
export {
  type Choice,
  type LlmConfig,
  loadPoolSettings,
  type PoolSettings,
  type ProviderSettings,
} from './settings.ts';

/** Options of {@link createLlmPool}. */
export interface CreateLlmPoolOptions {
  /** The `llm` config section; `LLM_GROUPS` is parsed and checked here, failing with a `ConfigError`. */
  config: LlmConfig;
  logger: Logger;
  /** Drives cool-down windows and latency. @default systemClock */
  clock?: Clock;
  /** The fetch every provider uses. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A built llm-pool: the express app, the pool behind it, and a server to start and stop. */
export interface LlmPool {
  app: Express;
  pool: Pool;
  settings: PoolSettings;
  /** Listens on `host:port` (port 0 picks a free one) and resolves with the base URL. */
  start(options: { port: number; host?: string }): Promise<string>;
  /** Stops taking connections and resolves once the requests in flight have been answered. */
  stop(): Promise<void>;
}

/**
 * Builds the llm-pool from config: the providers of `LLM_GROUPS` (or the default Ollama), the pool with
 * its fallbacks, cool-downs and concurrency limit, and the HTTP app in front of it.
 */
export function createLlmPool({
  config,
  logger,
  clock = systemClock,
  fetch: fetchImpl = globalThis.fetch,
}: CreateLlmPoolOptions): LlmPool {
  const settings = loadPoolSettings(config);
  const providers = new Map<string, Provider>();
  for (const p of settings.providers.values()) {
    providers.set(
      p.name,
      p.kind === 'ollama'
        ? createOllamaProvider({ name: p.name, baseUrl: p.baseUrl, timeoutMs: p.timeoutMs, fetch: fetchImpl })
        : createOpenAiProvider({
            name: p.name,
            baseUrl: p.baseUrl,
            apiKey: p.apiKey,
            timeoutMs: p.timeoutMs,
            fetch: fetchImpl,
          }),
    );
  }
  const pool = createPool({ settings, providers, clock });
  const app = createHttpApp({ pool, logger });
  let server: Server | undefined;

  return {
    app,
    pool,
    settings,
    start({ port, host = '127.0.0.1' }) {
      return new Promise((resolve, reject) => {
        const listening = app.listen(port, host, (error?: Error) => {
          if (error) return reject(error);
          const address = listening.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shown}:${address.port}`);
        });
        server = listening;
      });
    },
    stop() {
      const current = server;
      server = undefined;
      if (!current) return Promise.resolve();
      return new Promise((resolve) => {
        current.close(() => resolve());
        // keep-alive sockets with no request on them would hold close() open
        current.closeIdleConnections();
      });
    },
  };
}
