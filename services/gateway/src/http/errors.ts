import { AppError, type AppErrorOptions } from '@konstruct/core';

/** The body is larger than the configured limit; refused before it is read in full. */
export class PayloadTooLargeError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('payload_too_large', message, options);
  }
}

/** The request's content type is not one the route reads. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('unsupported_media_type', message, options);
  }
}

/** The caller proved who it is but may not do this (a wrong WhatsApp verify token). */
export class ForbiddenError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('forbidden', message, options);
  }
}
