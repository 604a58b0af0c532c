import { useQuery } from '@tanstack/react-query';
import type { AccessDecision, Channel, Contract, Whoami } from '../lib/contract/index.js';
import { OutpostError } from '../lib/errors/index.js';
import { api } from './api.js';

/** An operation of the console's API (`apps.add`, `nodes.cordon`, ...). */
export type ConsoleChannel = Channel<Contract>;

/**
 * Who is signed in and what their roles let them do, as the server says (`system.whoami`: the same
 * decision the server takes on each call, ADR 0520). The console only shows it: it hides or disables
 * what would be refused, with the server's reason.
 */
export interface Session {
  me: Whoami | undefined;
  /** True while asking who is signed in. */
  loading: boolean;
  /** Not signed in, or the credential stopped working (revoked, expired). */
  signedOut: boolean;
  error: unknown;
  can(channel: ConsoleChannel): AccessDecision;
}

/** Until the server has said who is signed in, nothing is allowed. */
const UNKNOWN: AccessDecision = { allowed: false, needs: [], reason: 'not signed in' };

/** The sign-in check as a query (also started before the first render, see main.tsx). */
export const sessionQuery = {
  queryKey: ['session'],
  queryFn: () => api.system.whoami({}),
  staleTime: 60_000,
  retry: false,
} as const;

export function useSession(): Session {
  const q = useQuery(sessionQuery);
  const code = q.error instanceof OutpostError ? q.error.code : undefined;
  // A refetch that fails keeps the last answer in the cache: a token refused now is signed out.
  const signedOut = code === 'unauthorized';
  const me = signedOut ? undefined : q.data;
  return {
    me,
    loading: q.isLoading,
    signedOut,
    error: q.error,
    can: (channel) => me?.access[channel] ?? UNKNOWN,
  };
}

/** The server's answer for one operation (see `Session.can`). */
export function useCan(channel: ConsoleChannel): AccessDecision {
  return useSession().can(channel);
}
