import { createContext, useContext, type ReactNode } from 'react';
import { useNow } from '../../live.js';
import { formatAge } from '../../format.js';
import { ageOf, type ServerTime } from './node-state.js';

const NowContext = createContext<number>(0);

/**
 * One clock per page (one `useNow()`): every age below it reads this context, so a table of ten
 * thousand rows has no timer per row, and only the cells that show an age render again each second
 * (the children are created by the caller, so the table itself does not).
 */
export function NowProvider({ children }: { children: ReactNode }) {
  const now = useNow();
  return <NowContext.Provider value={now}>{children}</NowContext.Provider>;
}

export function usePageNow(): number {
  return useContext(NowContext);
}

/** "12s ago", or `never` when there is no timestamp; ages on the server's clock (see ageOf). */
export function Age({
  at,
  time,
  never = 'never',
  testId,
}: {
  at: number | null;
  time: ServerTime;
  never?: string;
  testId?: string;
}) {
  const now = usePageNow();
  const age = ageOf(at, time, now || time.receivedAt);
  return (
    <span data-testid={testId} data-at={at ?? ''}>
      {age === null ? never : `${formatAge(age)} ago`}
    </span>
  );
}
