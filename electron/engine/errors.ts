// Typed engine errors. Messages are lowercase and name the object; callers test `code`.
import { CodedError, isCodedError } from '../../common/errors.ts';

export class EngineError extends CodedError {
  constructor(...args: ConstructorParameters<typeof CodedError>) {
    super(...args);
    this.name = 'EngineError';
  }
}

export const notFound = (message: string) => new EngineError('NOT_FOUND', message);
export const conflict = (message: string) => new EngineError('CONFLICT', message);
export const invalid = (message: string) => new EngineError('INVALID_ARGUMENT', message);
export const notRunning = (message: string) => new EngineError('NOT_RUNNING', message);
export const unsupported = (message: string) => new EngineError('UNSUPPORTED', message);

export const isEngineError = isCodedError;
