// Errors to HTTP replies, one mapping for every server of ours: {"error": {code, message, details?}}.
import { ColonyError, HTTP_STATUS, ValidationError } from '../../shared/errors.js';
import { StoreError } from './store/errors.js';

/** The status and body for an error thrown by a route (ours by class, Fastify's by status). */
export function errorReply(err: unknown): {
  status: number;
  body: { error: { code: string; message: string; details?: unknown } };
} {
  if (err instanceof ValidationError)
    return {
      status: 400,
      body: { error: { code: err.code, message: err.message, details: { issues: err.issues } } },
    };
  if (err instanceof ColonyError)
    return {
      status: HTTP_STATUS[err.code],
      body: {
        error: {
          code: err.code,
          message: err.message,
          ...(err.details ? { details: err.details } : {}),
        },
      },
    };
  if (err instanceof StoreError) {
    const status =
      err.code === 'BLOB_TOO_LARGE'
        ? 413
        : err.code === 'STORE_UNAVAILABLE'
          ? 503
          : err.code === 'BAD_TRANSITION'
            ? 409
            : 400;
    return { status, body: { error: { code: err.code, message: err.message } } };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return {
      status: e.statusCode,
      body: {
        error: {
          code: e.statusCode === 413 ? 'TOO_LARGE' : 'BAD_INPUT',
          message: e.message ?? 'bad request',
        },
      },
    };
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}
