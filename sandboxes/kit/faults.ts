/** One hostile behaviour a sandbox can be told to show; each channel lists its own as a union on `kind`. */
export interface Fault {
  kind: string;
}

/**
 * The faults injected into a sandbox, each for a number of occurrences: the sandbox `take`s one where it would
 * show it. Injecting a kind again replaces what was left of it.
 */
export class FaultBook<F extends Fault> {
  private readonly pending = new Map<F['kind'], { fault: F; remaining: number }>();

  inject(fault: F, times = 1): void {
    this.pending.set(fault.kind, { fault, remaining: times });
  }

  clear(): void {
    this.pending.clear();
  }

  /**
   * Consumes one occurrence of the fault if one is pending and, when `applies` is given, it applies here (a fault
   * meant for another call stays pending for that call).
   */
  take<K extends F['kind']>(kind: K, applies?: (fault: Extract<F, { kind: K }>) => boolean): Extract<F, { kind: K }> | undefined {
    const entry = this.pending.get(kind);
    if (!entry) return undefined;
    if (applies && !applies(entry.fault as Extract<F, { kind: K }>)) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.pending.delete(kind);
    return entry.fault as Extract<F, { kind: K }>;
  }
}
