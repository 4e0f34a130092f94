/**
 * A Durable Object's alarm as this instance last set it. Setting or deleting an alarm is a write of its own
 * (locally a commit and an fsync of the object's metadata on the one thread that runs every object), so a claim or
 * a submit that finds an alarm already due soon enough writes none. Unknown after the instance starts: the first
 * call writes. Never a read before the write: callers set the alarm in the same synchronous block as the rows it
 * serves, so both commit together.
 */
export class AlarmClock {
  /** When the alarm runs (null: none pending; undefined: not known since this instance started). */
  #at: number | null | undefined;

  constructor(readonly storage: DurableObjectStorage) {}

  /** The alarm handler started: the alarm that runs is no longer pending (the runtime deletes it once it ends). */
  ran(): void {
    this.#at = null;
  }

  /** An alarm at `at` at the latest: written only when none this instance set runs by then. */
  async setBy(at: number): Promise<void> {
    if (this.#at != null && this.#at <= at) return;
    await this.storage.setAlarm(at);
    this.#at = at;
  }
}
