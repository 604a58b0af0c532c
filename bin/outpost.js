#!/usr/bin/env node
// Starts the Outpost console with everything embedded. With the Electron binary installed (and a
// display), it opens the desktop window; otherwise it serves the same console as a web portal on
// 127.0.0.1 and prints its URL.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);

function electronBinary() {
  if (process.env.OUTPOST_HEADLESS === '1') return undefined;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return undefined;
  try {
    const bin = require('electron'); // the npm package exports the binary's path when run under Node
    return typeof bin === 'string' && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const electron = electronBinary();
if (electron) {
  const main = fileURLToPath(new URL('../dist/electron/main.js', import.meta.url));
  const child = spawn(electron, [main, ...args], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  process.stderr.write(
    'outpost: no Electron window here (binary not installed or no display); serving the console as a web portal\n',
  );
  const { main } = await import('../dist/cli/main-entry.js');
  await main([process.argv[0], 'edgectl', 'server', ...args]);
}
