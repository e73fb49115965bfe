import { z } from 'zod';
import { durationMs } from './duration.ts';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const url = z.url();
const secret = z.string().min(1, 'must not be empty');
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every setting, grouped in sections. A service asks {@link loadConfig} for the sections it needs, so the
 * router does not demand the Slack signing secret, while each section's variables are checked together.
 * Defaults are the ones `.env.example` documents.
 */
export const sections = {
  /** Logging and the service's own identity. */
  core: z.object({
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  }),
  /** The event backbone. */
  nats: z.object({
    NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
    /** Stream holding every tenant fact (`tenant.>`). */
    NATS_STREAM: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('KONSTRUCT'),
    /** Stream holding facts without a tenant (`ops.>`). */
    NATS_OPS_STREAM: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('KONSTRUCT_OPS'),
    /** Prefix put before `tenant.` and `ops.` on every subject; tests use it to stay apart. */
    NATS_SUBJECT_PREFIX: z
      .string()
      .regex(/^([a-z0-9_-]+\.)*$/, 'must be empty or dot-terminated tokens like "test1."')
      .default(''),
    /** How long JetStream remembers a message id to drop duplicates; Slack retries for minutes, Meta for days. */
    NATS_DUPLICATE_WINDOW: durationMs.default(24 * 3_600_000),
    /** How long the gateway waits for JetStream to store an event before answering 503. */
    NATS_PUBLISH_TIMEOUT: durationMs.default(2_000),
    /** A user to connect as, when the nats-server has an `authorization` block (unset: no credentials). */
    NATS_USER: z.string().min(1).optional(),
    /** That user's password. */
    NATS_PASSWORD: z.string().min(1).optional(),
  }),
  /** Postgres. */
  database: z.object({
    /** The app role's connection: `konstruct_app`, subject to row-level security. */
    DATABASE_URL: url.default('postgres://konstruct_app@127.0.0.1:5432/konstruct'),
    /** The owner role's connection, used only for migrations. */
    DATABASE_OWNER_URL: url.default('postgres://konstruct_owner@127.0.0.1:5432/konstruct'),
    /** 32 bytes, base64: encrypts channel credentials at rest (AES-256-GCM). */
    CREDENTIALS_KEY: z
      .string()
      .refine(
        (v) => Buffer.from(v, 'base64').length === 32,
        'must be 32 bytes, base64-encoded (openssl rand -base64 32)',
      ),
    DATABASE_POOL_MAX: positiveInt.default(10),
  }),
  /** Redis. */
  redis: z.object({
    REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
    /** Put before every key; tests use it to stay apart. Keys themselves stay `{tenantId}:{type}:{discriminator}`. */
    REDIS_KEY_PREFIX: z.string().default(''),
  }),
  /** The webhook gateway. */
  gateway: z.object({
    GATEWAY_PORT: port.default(3000),
    GATEWAY_HOST: z.string().default('0.0.0.0'),
    /** Gateway processes sharing the port (node:cluster); each takes about one core under load. */
    GATEWAY_WORKERS: positiveInt.max(64).default(1),
    /** Largest webhook body accepted, in bytes. */
    GATEWAY_BODY_LIMIT: positiveInt.default(1_048_576),
    /** The Slack app's signing secret. */
    SLACK_SIGNING_SECRET: secret,
    /** The Meta app secret that signs WhatsApp webhooks. */
    WHATSAPP_APP_SECRET: secret,
    /** The token Meta echoes in the webhook verification handshake. */
    WHATSAPP_VERIFY_TOKEN: secret,
    /** Slack's request timestamp window. */
    SLACK_TIMESTAMP_TOLERANCE: durationMs.default(300_000),
  }),
  /** Routing decisions. */
  routing: z.object({
    RATE_LIMIT_MESSAGES: positiveInt.default(30),
    RATE_LIMIT_WINDOW: durationMs.default(60_000),
    ENGAGED_THREAD_TTL: durationMs.default(30 * 60_000),
    /**
     * How long the router remembers its decision for a message (and the rate-limit token it took), so a
     * redelivered message publishes the same outcome and takes no second token. Must outlast the consumer's
     * redelivery schedule, which is minutes.
     */
    ROUTING_DECISION_TTL: durationMs.default(3_600_000),
  }),
  /** The orchestrator and delivery. */
  orchestrator: z.object({
    SESSION_WINDOW_MESSAGES: positiveInt.default(20),
    LLM_POOL_URL: url.default('http://127.0.0.1:3100'),
    LLM_TIMEOUT: durationMs.default(120_000),
    SLACK_API_BASE_URL: url.default('https://slack.com/api'),
    WHATSAPP_GRAPH_BASE_URL: url.default('https://graph.facebook.com'),
    WHATSAPP_GRAPH_API_VERSION: z
      .string()
      .regex(/^v\d+\.\d+$/)
      .default('v26.0'),
  }),
  /** The LLM pool. */
  llm: z.object({
    LLM_POOL_PORT: port.default(3100),
    LLM_POOL_HOST: z.string().default('0.0.0.0'),
    OLLAMA_BASE_URL: url.default('http://127.0.0.1:11434'),
    /** Model groups as JSON; see README. Empty means one group `fast` on Ollama's `OLLAMA_MODEL`. */
    LLM_GROUPS: z.string().default(''),
    OLLAMA_MODEL: z.string().min(1).default('llama3.2:3b'),
    LLM_PROVIDER_TIMEOUT: durationMs.default(60_000),
    LLM_COOLDOWN: durationMs.default(30_000),
    LLM_MAX_CONCURRENCY: positiveInt.default(8),
    LLM_FAILURES_BEFORE_COOLDOWN: positiveInt.default(3),
    /** Calls that may wait for one of the `LLM_MAX_CONCURRENCY` slots; beyond that the pool answers 503 at once. */
    LLM_MAX_QUEUE: positiveInt.default(100),
  }),
  /** Feature switches. */
  features: z.object({
    METRICS_ENABLED: bool.default(true),
  }),
} as const;

/** The name of a config section. */
export type SectionName = keyof typeof sections;

/** The parsed settings of the requested sections. */
export type Config<S extends SectionName = SectionName> = Readonly<
  z.infer<(typeof sections)['core']> & UnionToIntersection<{ [K in S]: z.infer<(typeof sections)[K]> }[S]>
>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
