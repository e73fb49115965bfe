export { type Clock, type IdGenerator, manualClock, randomIds, sleep, systemClock } from './clock.ts';
export {
  AppError,
  type AppErrorOptions,
  ConflictError,
  describeError,
  isAppError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from './errors.ts';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  type MessageLogContext,
  messageLogger,
} from './logger.ts';
