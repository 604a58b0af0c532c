import { Suspense, lazy, type ReactElement } from 'react';

// Tooltip brings the popper library and its transitions: a chunk loaded after the first view (ADR 0234).
const Tooltip = lazy(() => import('@mui/material/Tooltip'));

/**
 * A Tooltip for what the first view shows (the app bar): its element renders at once, and gets the
 * tooltip (on hover and keyboard focus) as soon as the Tooltip's chunk has loaded, a moment later.
 */
export function LazyTooltip({ title, children }: { title: string; children: ReactElement }) {
  return (
    <Suspense fallback={children}>
      <Tooltip title={title}>{children}</Tooltip>
    </Suspense>
  );
}
