import fs from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';

const AXE = path.resolve('node_modules/axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2.0-2.2 A and AA rules) on the page as it is and returns the serious and critical
 * violations, each with the selectors of the elements at fault. axe is evaluated through the browser's
 * debugging protocol: the console's Content-Security-Policy (script-src 'self') rightly refuses a script
 * tag added to the page.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate<boolean>(`typeof globalThis.axe === 'object'`)))
    await page.evaluate<unknown>(fs.readFileSync(AXE, 'utf8'));
  return page.evaluate(async () => {
    // Runs in the page, where axe-core was just evaluated.
    const g = globalThis as unknown as {
      axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> };
      document: unknown;
    };
    const r = (await g.axe.run(g.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
      resultTypes: ['violations'],
    })) as {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
    };
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
}
