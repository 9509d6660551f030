// Errors by class, each with a stable code that the API maps to a status and the CLI to an exit code.

export type ErrorCode =
  | 'BAD_INPUT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_LARGE'
  | 'BLOB_HASH_MISMATCH'
  | 'BLOB_MISSING'
  | 'STORE_UNAVAILABLE'
  | 'UNREACHABLE'
  | 'INTERNAL';

export interface FieldIssue {
  /** Dotted path of the field, e.g. `tasks.sweep.from.range`. */
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
    super('BAD_INPUT', `${what}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, {
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
  BLOB_HASH_MISMATCH: 400,
  BLOB_MISSING: 400,
  STORE_UNAVAILABLE: 503,
  UNREACHABLE: 503,
  INTERNAL: 500,
};
