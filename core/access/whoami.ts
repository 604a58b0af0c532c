import {
  contract,
  decideAccess,
  listMethods,
  type Principal,
  type Whoami,
} from '../../lib/contract/index.js';

/**
 * Who the caller is and what it may do (`system.whoami`, and the desktop's session answers): for every
 * method of the contract, the same decision the dispatcher takes on a call (ADR 0520). The console
 * shows what this says and decides nothing itself.
 */
export function whoamiOf(p: Principal, actingTenant: string): Whoami {
  const access: Whoami['access'] = {};
  for (const m of listMethods(contract)) {
    const d = decideAccess(m.channel, m.def, p.roles);
    access[m.channel] = { allowed: d.allowed, needs: [...d.needs], reason: d.reason };
  }
  return {
    id: p.id,
    name: p.name,
    tenantId: p.tenantId,
    actingTenant,
    roles: [...p.roles],
    expiresAt: p.expiresAt ?? null,
    access,
  };
}
