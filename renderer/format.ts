/** Display helpers only (no business logic). */
export { formatAge } from '../lib/contract/index.js';

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString();
}
