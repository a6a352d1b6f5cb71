import type { Logger } from './logger';

/** At most one "unreachable" line per dependency in this long: a flapping link must not flood the log. */
const WARN_EVERY_MS = 10_000;

/**
 * Whether a dependency (MariaDB, Redis) answers, as seen by the last check or connection event, and the log
 * lines an operator looks for: a warning when it goes away, an info line with the outage's length when it is
 * back. Only changes are logged, and a warning at most every WARN_EVERY_MS: an outage that starts sooner after the
 * last warning is warned of by the first check after that time, if it still lasts (a blip must not hide a real
 * outage behind it), and a shorter one is not logged at all.
 */
export class Availability {
  private downSince?: number;
  /** This outage's warning was logged (so its end is too). */
  private warned = false;
  private lastWarn = -Infinity;

  constructor(
    readonly name: string,
    private readonly log: Logger,
  ) {}

  get down(): boolean {
    return this.downSince !== undefined;
  }

  failed(err: unknown): void {
    const now = Date.now();
    this.downSince ??= now;
    if (this.warned || now - this.lastWarn < WARN_EVERY_MS) return;
    this.warned = true;
    this.lastWarn = now;
    this.log.warn({ err, dependency: this.name, downMs: now - this.downSince }, `${this.name} is unreachable`);
  }

  answered(): void {
    if (this.downSince === undefined) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = undefined;
    if (this.warned) this.log.info({ dependency: this.name, downMs }, `${this.name} is reachable again`);
    this.warned = false;
  }
}
