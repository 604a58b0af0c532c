import { formatAge } from '../../format.js';
import { useTick } from '../../components/ticker.js';

/** "12s ago" (ticking) or "never". */
export function SinceText({ at, testId }: { at: number | null; testId?: string }) {
  const now = useTick();
  return (
    <span data-testid={testId}>{at === null ? 'never' : `${formatAge(Math.max(0, now - at))} ago`}</span>
  );
}
