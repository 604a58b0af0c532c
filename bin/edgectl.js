#!/usr/bin/env node
// edgectl: runs the built CLI (dist/), never a TypeScript loader, so it starts fast.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/edgectl.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('edgectl: not built yet; run "npm run build" in the Outpost folder first\n');
  process.exit(1);
}
await import(entry.href);
