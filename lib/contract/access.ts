import { OutpostError } from '../errors/index.js';
import type { MethodDef } from './define.js';
import { describeRoles, rolesAllow, type Role } from './roles.js';

/**
 * The one access rule (ADR 0520), used by the dispatcher for every transport and by the console to
 * hide what the caller cannot do: a method may be called by a principal holding one of its roles.
 */
export interface AccessDecision {
  readonly allowed: boolean;
  /** The roles the method accepts (any one of them). */
  readonly needs: readonly Role[];
  /** Why not, in words (empty when allowed). */
  readonly reason: string;
}

export function decideAccess(
  channel: string,
  def: Pick<MethodDef, 'roles'>,
  held: readonly Role[],
): AccessDecision {
  const needs = def.roles;
  if (rolesAllow(held, needs)) return { allowed: true, needs, reason: '' };
  const have = held.length ? held.join(', ') : 'no role';
  return {
    allowed: false,
    needs,
    reason: `${channel} needs the ${describeRoles(needs)} role (you have ${have})`,
  };
}

/** The 403 a refused call answers with: problem+json naming the role needed (`data.requiredRoles`). */
export function accessDenied(channel: string, decision: AccessDecision, held: readonly Role[]): OutpostError {
  return new OutpostError('forbidden', decision.reason, {
    data: { channel, requiredRoles: [...decision.needs], roles: [...held] },
  });
}
