/**
 * One small error tree for the whole platform. Every error has a stable `code` that transports map to a
 * response (HTTP status, NATS ack/nak/term) without ever matching on message text, and keeps its `cause`.
 */

/** Options shared by every {@link AppError}. */
export interface AppErrorOptions {
  /** The error that caused this one, kept for logs. */
  cause?: unknown;
  /** Structured detail safe to show a caller (field errors, ids). */
  details?: Record<string, unknown>;
}

/** The root of every error Konstruct raises on purpose. */
export class AppError extends Error {
  /** Stable machine-readable code, e.g. `validation_failed`. */
  readonly code: string;
  /** Structured detail safe to show a caller. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

/** Input that does not have the shape or values we accept. Never worth retrying. */
export class ValidationError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('validation_failed', message, options);
  }
}

/** Something named by the caller does not exist. */
export class NotFoundError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('not_found', message, options);
  }
}

/** The request conflicts with what is already stored (a duplicate slug, email or workspace id). */
export class ConflictError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('conflict', message, options);
  }
}

/** A dependency (NATS, Postgres, Redis, an LLM provider) did not answer; worth retrying later. */
export class UnavailableError extends AppError {
  /** How long to wait before trying again, when the dependency said so. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: AppErrorOptions & { retryAfterMs?: number } = {}) {
    super('unavailable', message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The caller could not prove who it is (a bad webhook signature). */
export class UnauthorizedError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('unauthorized', message, options);
  }
}

/** Narrows an unknown thrown value to an {@link AppError} subclass. */
export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Renders any thrown value as a one-line reason for logs and dead letters. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error instanceof AppError ? `${error.code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}
