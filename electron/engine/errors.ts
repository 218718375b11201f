// Typed engine errors. Messages are lowercase and name the object; callers test `code`.
import type { ErrorCode, ErrorData } from '../../common/errors.ts';

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly stage?: string;
  readonly errno?: number;

  constructor(code: ErrorCode, message: string, extra: { stage?: string; errno?: number; cause?: unknown } = {}) {
    super(message, { cause: extra.cause });
    this.name = 'EngineError';
    this.code = code;
    this.stage = extra.stage;
    this.errno = extra.errno;
  }

  toData(): ErrorData {
    return { code: this.code, message: this.message, stage: this.stage, errno: this.errno };
  }
}

export const notFound = (message: string) => new EngineError('NOT_FOUND', message);
export const conflict = (message: string) => new EngineError('CONFLICT', message);
export const invalid = (message: string) => new EngineError('INVALID_ARGUMENT', message);
export const notRunning = (message: string) => new EngineError('NOT_RUNNING', message);
export const unsupported = (message: string) => new EngineError('UNSUPPORTED', message);

export function isEngineError(e: unknown, code?: ErrorCode): e is EngineError {
  return e instanceof EngineError && (code === undefined || e.code === code);
}
