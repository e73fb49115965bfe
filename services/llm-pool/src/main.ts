import { ConfigError, loadConfig } from '@konstruct/config';
import { createLogger, systemClock } from '@konstruct/core';
import { createLlmPool } from './index.ts';

// The composition root: the only place that reads the environment and builds the llm-pool's dependencies.
let pool: ReturnType<typeof createLlmPool>;
let logger: ReturnType<typeof createLogger>;
try {
  const config = loadConfig(process.env, ['llm']);
  logger = createLogger({ service: 'llm-pool', level: config.LOG_LEVEL });
  pool = createLlmPool({ config, logger, clock: systemClock });
  const url = await pool.start({ port: config.LLM_POOL_PORT, host: config.LLM_POOL_HOST });
  logger.info({ url, groups: pool.pool.health().groups }, 'llm-pool listening');
} catch (error) {
  // a bad LLM_GROUPS is the usual start-up failure: print its problems readably, not as a stack
  if (error instanceof ConfigError) {
    process.stderr.write(`llm-pool: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

/** How long in-flight completions get to finish after SIGTERM before the process exits anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining: finishing in-flight completions');
  const timer = setTimeout(() => {
    logger.warn({ timeoutMs: DRAIN_TIMEOUT_MS }, 'completions still in flight; exiting anyway');
    process.exit(1);
  }, DRAIN_TIMEOUT_MS);
  timer.unref();
  await pool.stop();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
