// Error classes of the local execution layer; branch on `instanceof` or `code`, never on message text.

export type ExecErrorCode =
  | 'BAD_TASK_MODULE'
  | 'BAD_OUTPUT'
  | 'CANCELLED'
  | 'BAD_TEMPLATE'
  | 'BAD_FILE_NAME'
  | 'BAD_ATTEMPT_ID'
  | 'NO_FREE_SLOT'
  | 'DUPLICATE_ATTEMPT'
  | 'SUPERVISOR_STOPPED'
  | 'WORKER_START_FAILED';

export class ExecError extends Error {
  readonly code: ExecErrorCode;
  constructor(code: ExecErrorCode, message: string) {
    super(message);
    this.name = this.constructor.name;
    this.code = code;
  }
}

/** The task module cannot be imported or has no default-exported function. */
export class TaskModuleError extends ExecError {
  constructor(message: string) {
    super('BAD_TASK_MODULE', message);
  }
}

/** The task returned something that is not JSON. */
export class BadOutputError extends ExecError {
  constructor(message: string) {
    super('BAD_OUTPUT', message);
  }
}

/** Reason given to `ctx.signal` when the supervisor cancels an attempt. */
export class TaskCancelledError extends ExecError {
  constructor(attemptId: string) {
    super('CANCELLED', `attempt ${attemptId} was cancelled`);
  }
}

/** A `{name}` in a command template has no matching field in the task input. */
export class TemplateError extends ExecError {
  constructor(message: string) {
    super('BAD_TEMPLATE', message);
  }
}

/** A staged file or output name that would escape the attempt's workdir. */
export class FileNameError extends ExecError {
  constructor(message: string) {
    super('BAD_FILE_NAME', message);
  }
}
