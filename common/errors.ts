// Error codes that cross every boundary (engine → API, engine → renderer). Callers switch
// on `code`, never on message text.

export const ERROR_CODES = [
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_ARGUMENT',
  'NOT_MODIFIED',
  'NOT_RUNNING',
  'UNAVAILABLE',
  'UNSUPPORTED',
  'PERMISSION',
  'UNAUTHORIZED',
  'HELPER_FAILED',
  'INTERNAL',
  /** the app lost its connection to the engine (the renderer's transports) */
  'DISCONNECTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorData {
  code: ErrorCode;
  message: string;
  /** Where a helper failure happened (mount, seccomp, exec, …), when known. */
  stage?: string;
  errno?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorData };

/** HTTP status per code, the one table the Docker API uses. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_ARGUMENT: 400,
  NOT_MODIFIED: 304,
  NOT_RUNNING: 409,
  UNAVAILABLE: 503,
  UNSUPPORTED: 501,
  PERMISSION: 403,
  UNAUTHORIZED: 401,
  HELPER_FAILED: 500,
  INTERNAL: 500,
  DISCONNECTED: 503,
};

/**
 * An error that carries its code across a boundary: the engine's errors, and what a backend
 * (in-process, or a client of another engine) throws. Messages are lowercase and name the object.
 */
export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly stage?: string;
  readonly errno?: number;

  constructor(code: ErrorCode, message: string, extra: { stage?: string; errno?: number; cause?: unknown } = {}) {
    super(message, { cause: extra.cause });
    this.name = 'CodedError';
    this.code = code;
    this.stage = extra.stage;
    this.errno = extra.errno;
  }

  toData(): ErrorData {
    return { code: this.code, message: this.message, stage: this.stage, errno: this.errno };
  }
}

export function isCodedError(e: unknown, code?: ErrorCode): e is CodedError {
  return e instanceof CodedError && (code === undefined || e.code === code);
}
