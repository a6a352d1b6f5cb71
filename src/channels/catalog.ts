import { KNOWN_CHANNELS } from './index';
import type { ChannelModule, PayWaySpec } from './channel-module';

/** A catalog entry with the channel it belongs to. */
export interface PayWayEntry extends PayWaySpec {
  channel: string;
}

/**
 * Pay ways by code and by wire number, from channel modules. Codes and numbers are each unique: two modules
 * claiming one is a deployment error, refused when the catalog is built.
 */
export class PayWayCatalog {
  private readonly byCode = new Map<string, PayWayEntry>();
  private readonly byNumber = new Map<number, PayWayEntry>();

  constructor(modules: readonly ChannelModule[] = []) {
    this.learn(modules);
  }

  /** Adds the modules' pay ways; one already known as the very same entry is fine, a clash is not. */
  learn(modules: readonly ChannelModule[]): void {
    for (const m of modules) {
      for (const spec of m.payWays) {
        const entry: PayWayEntry = { ...spec, channel: m.name };
        const same = this.byCode.get(spec.code);
        if (same && same.channel === m.name && same.protoNumber === spec.protoNumber) continue;
        if (same) throw new Error(`pay way ${spec.code} is claimed by channels ${same.channel} and ${m.name}`);
        const clash = this.byNumber.get(spec.protoNumber);
        if (clash) throw new Error(`pay way number ${spec.protoNumber} is claimed by ${clash.code} and ${spec.code}`);
        if (!Number.isInteger(spec.protoNumber) || spec.protoNumber <= 0) {
          throw new Error(`pay way ${spec.code} has number ${spec.protoNumber}; it must be a positive integer`);
        }
        this.byCode.set(spec.code, entry);
        this.byNumber.set(spec.protoNumber, entry);
      }
    }
  }

  get(code: string): PayWayEntry | undefined {
    return this.byCode.get(code);
  }

  byProtoNumber(n: number): PayWayEntry | undefined {
    return this.byNumber.get(n);
  }

  has(code: string): boolean {
    return this.byCode.has(code);
  }

  /** Every pay way, in module order then catalog order. */
  entries(): PayWayEntry[] {
    return [...this.byCode.values()];
  }

  codes(): string[] {
    return [...this.byCode.keys()];
  }
}

/**
 * The pay ways this process knows, for the wire mapping: every module in KNOWN_CHANNELS, plus those of modules a
 * deployment adds (the registry teaches it). Codes and numbers are the same everywhere, so one table serves all.
 */
export const knownPayWays = new PayWayCatalog(KNOWN_CHANNELS);

export const isPayWayCode = (v: string): boolean => knownPayWays.has(v);
