import type { ImageSlot } from '../../../lib/smp/index.js';
import { table } from '../../lib/output.js';

export function imageTable(slots: ImageSlot[]): string {
  return table(
    ['IMAGE', 'SLOT', 'VERSION', 'FLAGS', 'HASH'],
    slots.map((i) => [
      i.image,
      i.slot,
      i.version,
      (['active', 'confirmed', 'pending', 'permanent'] as const).filter((f) => i[f]).join(',') || '-',
      i.hash,
    ]),
  );
}
