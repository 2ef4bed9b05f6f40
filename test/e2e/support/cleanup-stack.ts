// Everything a test started, stopped in reverse order in afterEach, also when the test failed
// half-way: each entry stops its own processes by PID and removes its own directories.

export interface Stoppable {
  stop(): Promise<void>;
}

export class CleanupStack {
  private readonly entries: Stoppable[] = [];

  /** Registers `thing` and returns it, so a start reads `const mx = stack.add(await startPostfix(...))`. */
  add<T extends Stoppable>(thing: T): T {
    this.entries.push(thing);
    return thing;
  }

  /** Registers a plain cleanup function. */
  defer(stop: () => Promise<void>): void {
    this.entries.push({ stop });
  }

  /** Stops everything, last started first; one failure does not keep the others running. */
  async stopAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const entry of this.entries.splice(0).reverse()) {
      try {
        await entry.stop();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} cleanup step(s) failed`);
  }
}
