// Ownership of long-lived things: whoever starts a listener, stream, timer, process or socket
// keeps what ends it, and a Disposables ends all it holds at once. `on…` calls return a Disposer.

export type Disposer = () => void;

export interface Disposable {
  dispose(): void;
}

/** Holds disposers and ends them all, newest first, once; what is added after that ends at once. */
export class Disposables implements Disposable {
  private readonly items: Disposer[] = [];
  private disposed = false;

  add(d: Disposer | Disposable): Disposer {
    const fn = typeof d === 'function' ? d : () => d.dispose();
    if (this.disposed) fn();
    else this.items.push(fn);
    return fn;
  }

  /** Ends one early (and forgets it). */
  delete(fn: Disposer): void {
    const i = this.items.indexOf(fn);
    if (i < 0) return;
    this.items.splice(i, 1);
    fn();
  }

  get size(): number {
    return this.items.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    for (const fn of this.items.splice(0).reverse()) {
      try {
        fn();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors.length === 1 ? errors[0] : new AggregateError(errors, 'disposing failed');
  }
}
