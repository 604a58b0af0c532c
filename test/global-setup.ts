import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Integration tests run the built CLI (dist/), as users do: make sure it is up to date (incremental, fast when it is). */
export default function setup(): void {
  execFileSync(process.execPath, [path.resolve('scripts/build.mjs')], { stdio: 'inherit' });
}
