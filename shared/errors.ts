// Errors by class, each with a stable code that the API maps to a status and the CLI to an exit code.

export type ErrorCode =
  | 'BAD_INPUT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'QUOTA_EXCEEDED'
  | 'BLOB_HASH_MISMATCH'
  | 'BLOB_MISSING'
  | 'STORE_UNAVAILABLE'
  | 'UNREACHABLE'
  | 'INTERNAL';

export interface FieldIssue {
  /** Dotted path of the field, e.g. `tasks.sweep.from.range`; empty for the value as a whole. */
  field: string;
  message: string;
}

export class ColonyError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = this.constructor.name;
    this.code = code;
    this.details = details;
  }
}

/** Input that does not match its schema; `issues` name every bad field. */
export class ValidationError extends ColonyError {
  readonly issues: FieldIssue[];
  constructor(what: string, issues: FieldIssue[]) {
    const text = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message));
    super('BAD_INPUT', `${what}: ${text.join('; ')}`, {
      issues,
    });
    this.issues = issues;
  }
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  QUOTA_EXCEEDED: 507,
  BLOB_HASH_MISMATCH: 400,
  BLOB_MISSING: 400,
  STORE_UNAVAILABLE: 503,
  UNREACHABLE: 503,
  INTERNAL: 500,
};
