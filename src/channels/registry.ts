import { FailedPreconditionError } from '../domain/errors';
import { knownPayWays, PayWayCatalog } from './catalog';
import type { ChannelModule } from './channel-module';
import { buildChannel, type GuardedChannel } from './guarded-channel';
import { ObservedHandler, type ChannelCallObserver } from './observed-handler';
import type { StatementSource } from '../reconcile/download';
import type { ChannelAccount, ChannelNotifyPort, PayOrderHandler } from './types';

export { isPayWayCode, knownPayWays } from './catalog';

/** A channel's notify route: where its notifies come in, in what body, through which guarded channel. */
export interface NotifyRoute {
  module: ChannelModule;
  channel: ChannelNotifyPort;
}

/**
 * The deployment's channels, built from their modules: one guarded channel each (account, integrity checks,
 * error → unknown, close-then-confirm) and one handler per pay way. With an observer, every handler it hands out
 * reports each channel call (the metrics), so no use case can forget to.
 */
export class ChannelRegistry {
  readonly catalog: PayWayCatalog;
  private readonly byWay = new Map<string, PayOrderHandler>();
  private readonly byName = new Map<string, GuardedChannel>();
  private readonly bySegment = new Map<string, NotifyRoute>();
  private readonly statementsByName = new Map<string, StatementSource<ChannelAccount>>();

  constructor(
    readonly modules: readonly ChannelModule[],
    deps: { timeoutMs: number },
    observe?: ChannelCallObserver,
  ) {
    this.catalog = new PayWayCatalog(modules); // refuses a pay way code or number claimed twice
    knownPayWays.learn(modules);
    for (const module of modules) {
      if (this.byName.has(module.name)) throw new Error(`two channel modules named ${module.name}`);
      if (this.bySegment.has(module.notify.pathSegment))
        throw new Error(`two channels with notify path /notify/${module.notify.pathSegment}/`);
      const { channel, handlers, statements } = buildChannel(module, deps);
      this.byName.set(module.name, channel);
      if (statements) this.statementsByName.set(module.name, statements);
      this.bySegment.set(module.notify.pathSegment, { module, channel });
      for (const h of handlers) this.byWay.set(h.payWay, observe ? new ObservedHandler(h, observe) : h);
    }
  }

  get(payWay: string): PayOrderHandler | undefined {
    return this.byWay.get(payWay);
  }

  /** The handler for a pay way an order already used; its absence is a deployment error, not bad input. */
  require(payWay: string): PayOrderHandler {
    const h = this.get(payWay);
    if (!h) {
      throw new FailedPreconditionError(`pay way ${payWay} is not available on this deployment`, {
        reason: 'PAY_WAY_NOT_DEPLOYED',
        metadata: { payWay },
      });
    }
    return h;
  }

  /** Every handler, in catalog order. */
  handlers(): PayOrderHandler[] {
    return [...this.byWay.values()];
  }

  /** A channel's notify side (verification, answer, headers), by its name. */
  channel(name: string): ChannelNotifyPort | undefined {
    return this.byName.get(name);
  }

  /** The module of a deployed channel, by its name. */
  module(name: string): ChannelModule | undefined {
    return this.byName.get(name)?.module;
  }

  /** A deployed channel's daily statements; undefined for a channel that publishes none (the mock) or none deployed. */
  statements(name: string): StatementSource<ChannelAccount> | undefined {
    return this.statementsByName.get(name);
  }

  /** The channel whose notifies come in under /notify/<segment>/. */
  notifyRoute(segment: string): NotifyRoute | undefined {
    return this.bySegment.get(segment);
  }
}
