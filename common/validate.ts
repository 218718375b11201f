// Runtime argument validators for the contract: each one checks an unknown value and returns it
// typed, or throws a ValidationError naming the field. Both transports run them on arrival.

export class ValidationError extends Error {
  readonly code = 'INVALID_ARGUMENT';
}

export type Validator<T> = (v: unknown, path: string) => T;
export type Infer<V> = V extends Validator<infer T> ? T : never;

const fail = (path: string, want: string, v: unknown): never => {
  const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  throw new ValidationError(`${path}: expected ${want}, got ${got}`);
};

export const str = (o: { min?: number; max?: number; pattern?: RegExp } = {}): Validator<string> => (v, path) => {
  if (typeof v !== 'string') return fail(path, 'a string', v);
  if (o.min !== undefined && v.length < o.min) throw new ValidationError(`${path}: must not be empty`);
  if (v.length > (o.max ?? 4096)) throw new ValidationError(`${path}: longer than ${o.max ?? 4096} characters`);
  if (o.pattern && !o.pattern.test(v)) throw new ValidationError(`${path}: ${JSON.stringify(v)} is not valid`);
  return v;
};

export const num = (o: { min?: number; max?: number; int?: boolean } = {}): Validator<number> => (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(path, 'a number', v);
  if (o.int && !Number.isInteger(v)) throw new ValidationError(`${path}: must be a whole number`);
  if (o.min !== undefined && v < o.min) throw new ValidationError(`${path}: must be at least ${o.min}`);
  if (o.max !== undefined && v > o.max) throw new ValidationError(`${path}: must be at most ${o.max}`);
  return v;
};

export const bool = (): Validator<boolean> => (v, path) => (typeof v === 'boolean' ? v : fail(path, 'true or false', v));

export const oneOf = <const T extends readonly string[]>(values: T): Validator<T[number]> => (v, path) => {
  if (typeof v !== 'string' || !values.includes(v)) throw new ValidationError(`${path}: expected one of ${values.join(', ')}`);
  return v as T[number];
};

export const optional = <T>(inner: Validator<T>): Validator<T | undefined> => (v, path) => (v === undefined ? undefined : inner(v, path));

export const arr = <T>(item: Validator<T>, max = 10_000): Validator<T[]> => (v, path) => {
  if (!Array.isArray(v)) return fail(path, 'an array', v);
  if (v.length > max) throw new ValidationError(`${path}: more than ${max} items`);
  return v.map((x, i) => item(x, `${path}[${i}]`));
};

export const dict = <T>(value: Validator<T>): Validator<Record<string, T>> => (v, path) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'an object', v);
  const out: Record<string, T> = {};
  for (const [k, x] of Object.entries(v)) out[k] = value(x, `${path}.${k}`);
  return out;
};

type Shape = Record<string, Validator<unknown>>;
type ObjOf<S extends Shape> = { [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]> } &
  { [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]> };

/** An object with exactly these fields: unknown fields are refused, so typos do not pass silently. */
export const obj = <S extends Shape>(shape: S): Validator<ObjOf<S>> => (v, path) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'an object', v);
  for (const k of Object.keys(v)) if (!(k in shape)) throw new ValidationError(`${path}: unknown field ${k}`);
  const out: Record<string, unknown> = {};
  for (const [k, check] of Object.entries(shape)) {
    const x = check((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (x !== undefined) out[k] = x;
  }
  return out as ObjOf<S>;
};

/** A value that must also pass a grammar check (common/grammar), whose error crosses as it is. */
export const checked = <T>(inner: Validator<T>, check: (v: T) => unknown): Validator<T> => (v, path) => {
  const x = inner(v, path);
  check(x);
  return x;
};

/** A result type carried only for typing; results are produced by our own code, not checked. */
export const as = <T>(): Validator<T> => (v) => v as T;
