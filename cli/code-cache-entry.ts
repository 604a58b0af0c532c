// The launcher's code-cache loader (dist/cli/code-cache.js), built on its own so that bin/edgectl.js
// loads only it before the server bundle (ADR 0560).
export { runWithCodeCache } from '../lib/base/index.js';
