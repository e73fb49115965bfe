import { AppError, ConflictError, UnavailableError } from '@konstruct/core';
import {
  ConnectionException,
  type DriverException,
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';

/**
 * Translates database errors into the platform's error tree, so transports never look at driver errors:
 * unique violations become {@link ConflictError} naming the constraint, lost connections become
 * {@link UnavailableError}. Anything else is returned as it is.
 */
export function translateDbError(error: unknown, what = 'record'): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof UniqueConstraintViolationException) {
    const constraint = (error as DriverException & { constraint?: string }).constraint;
    return new ConflictError(`${what} already exists${constraint ? ` (${constraint})` : ''}`, {
      cause: error,
    });
  }
  if (error instanceof ForeignKeyConstraintViolationException) {
    return new ConflictError(`${what} refers to something that does not exist`, { cause: error });
  }
  if (error instanceof ConnectionException) {
    return new UnavailableError(`database unavailable: ${error.message}`, { cause: error });
  }
  return error;
}
