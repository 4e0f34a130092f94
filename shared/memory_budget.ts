/**
 * An isolate-wide budget of bytes: work that allocates in proportion to its
 * input (a band of weights, the blocks it reads) takes a lease for those bytes
 * before allocating and gives it back after, waiting while the isolate's other
 * work holds the rest. Waiters are served first come, first served, so a large
 * lease is not starved by a stream of small ones; a lease larger than the
 * whole budget is refused at once (it could never be granted), so callers size
 * their work to fit.
 *
 * Hand-rolled: async-mutex's weighted `Semaphore` (0.5.0) walks every weight
 * from its free value down to 1 on each release (`_drainUnlockWaiters`), which
 * is O(bytes) per release with weights in bytes; p-limit counts tasks, not bytes.
 */

/** Bytes held from a {@link MemoryBudget}; released once (`using` releases it at the end of the scope). */
export interface MemoryLease extends Disposable {
  readonly bytes: number;
  release(): void;
}

/** A lease larger than the whole budget: the caller must split its work. */
export class LeaseTooLargeError extends RangeError {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`A lease of ${bytes} bytes exceeds the whole memory budget of ${maxBytes} bytes`);
    this.name = "LeaseTooLargeError";
  }
}

export class MemoryBudget {
  readonly #waiting: { bytes: number; grant: () => void }[] = [];
  #held = 0;
  #peak = 0;
  #waits = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes leased now. */
  get heldBytes(): number {
    return this.#held;
  }

  /** The most bytes leased at once since the isolate started. */
  get peakBytes(): number {
    return this.#peak;
  }

  /** Leases that had to wait for others to release, since the isolate started. */
  get waits(): number {
    return this.#waits;
  }

  /** Leases waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * A lease of `bytes`, once they fit beside what is held and every earlier waiter has been served.
   * @throws {LeaseTooLargeError} when `bytes` exceeds the whole budget.
   */
  async acquire(bytes: number): Promise<MemoryLease> {
    if (!(bytes >= 0)) throw new RangeError(`A lease needs a byte count ≥ 0, not ${bytes}`);
    if (bytes > this.maxBytes) throw new LeaseTooLargeError(bytes, this.maxBytes);
    if (this.#waiting.length === 0 && this.#held + bytes <= this.maxBytes) this.#take(bytes);
    else {
      this.#waits++;
      await new Promise<void>((grant) => this.#waiting.push({ bytes, grant }));
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#held -= bytes;
      this.#grant();
    };
    return { bytes, release, [Symbol.dispose]: release };
  }

  #take(bytes: number): void {
    this.#held += bytes;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }

  #grant(): void {
    while (this.#waiting.length && this.#held + this.#waiting[0]!.bytes <= this.maxBytes) {
      const next = this.#waiting.shift()!;
      this.#take(next.bytes);
      next.grant();
    }
  }
}
