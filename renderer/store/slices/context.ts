// What every slice is built with: the store's set/get, the bridge (only slices call it), and a
// call helper that turns a failed call into an error toast.
import type { MethodArgs, MethodName, MethodResult } from '../../../common/contract.ts';
import type { Bridge } from '../../bridge.ts';
import type { AppState, Actions } from '../appStore.ts';

export type Full = AppState & Actions;

export interface SliceContext {
  set: (partial: Partial<Full> | ((s: Full) => Partial<Full>)) => void;
  get: () => Full;
  bridge: Bridge;
  /** the call's value, or undefined after an error toast; `done` toasts success */
  call<M extends MethodName>(m: M, args: MethodArgs<M>, done?: string): Promise<MethodResult<M> | undefined>;
}
