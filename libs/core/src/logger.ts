import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The service name, on every line as `service`. */
  service: string;
  /** pino level. @default 'info' */
  level?: LoggerOptions['level'];
  /** Where lines go; tests pass a stream to read them back. @default stdout */
  destination?: pino.DestinationStream;
}

/**
 * Creates the structured logger a composition root hands to every factory. Secrets that could reach a log
 * line through an object (tokens, secrets, passwords, raw bodies) are redacted by path.
 */
export function createLogger({ service, level = 'info', destination }: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    redact: {
      paths: [
        '*.token',
        '*.botToken',
        '*.accessToken',
        '*.secret',
        '*.signingSecret',
        '*.appSecret',
        '*.password',
        '*.credentials',
        'headers.authorization',
        'headers["x-slack-signature"]',
        'headers["x-hub-signature-256"]',
      ],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The ids every log line about a message carries. */
export interface MessageLogContext {
  tenantId?: string;
  eventId?: string;
  correlationId?: string;
}

/** A child logger bound to one message's tenant, event and correlation ids. */
export function messageLogger(logger: Logger, context: MessageLogContext): Logger {
  return logger.child(context);
}
