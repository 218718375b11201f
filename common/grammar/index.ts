// One grammar per user concept (common/grammar): the run form, the contract, the app's host and
// the engine all parse and check with these.
export * from './ports.ts';
export * from './values.ts';
export * from './detachKeys.ts';
export { namesTagOrDigest, parseReference } from '../reference.ts';
