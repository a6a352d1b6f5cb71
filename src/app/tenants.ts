import { InvalidArgumentError, NotFoundError } from '../domain/errors';
import { TENANT_ID, textProblem } from '../domain/identifiers';
import type { Db } from '../infra/db';
import { findTenant, upsertTenant, type Tenant } from '../repo/tenants';
import type { Deps } from './deps';

export type { Tenant };

export interface TenantRegistration {
  id: string;
  /** Shown to operators; 1-128 characters, no control characters. Defaults to the id for a new tenant. */
  name?: string;
}

/** Registers a tenant or changes a registered one (what `npm run tenant -- add` does). */
export async function registerTenant(db: Db, reg: TenantRegistration): Promise<{ tenant: Tenant; created: boolean }> {
  if (!TENANT_ID.test(reg.id)) throw new InvalidArgumentError('tenant_id', 'must be 1-64 characters of A-Z a-z 0-9 _ -');
  if (reg.name !== undefined && (reg.name.trim() === '' || [...reg.name].length > 128 || textProblem(reg.name) !== undefined)) {
    throw new InvalidArgumentError('name', 'must be 1-128 characters without control characters');
  }
  return upsertTenant(db, reg);
}

/**
 * Reads registered tenants. Every RPC asks, so a short per-process cache keeps the hot paths off the database;
 * a change (a new name) is seen everywhere within `ttlMs`. Misses are not cached, so a tenant
 * works as soon as it is registered.
 */
export class Tenants {
  private readonly cache = new Map<string, { tenant: Tenant; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 30_000,
  ) {}

  async get(id: string): Promise<Tenant | undefined> {
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) return hit.tenant;
    const tenant = await findTenant(this.db, id);
    if (!tenant) {
      this.cache.delete(id);
      return undefined;
    }
    this.cache.set(id, { tenant, until: Date.now() + this.ttlMs });
    return tenant;
  }
}

/** The first step of every use case an RPC runs: the tenant it names must be registered (else NOT_FOUND). */
export async function requireTenant(deps: Pick<Deps, 'tenants'>, id: string): Promise<Tenant> {
  const tenant = await deps.tenants.get(id);
  if (!tenant) throw new NotFoundError(`tenant ${id} is not registered`, { reason: 'TENANT_NOT_FOUND', metadata: { tenantId: id } });
  return tenant;
}
