// Child process for supervisor.test.ts: supervises a nats-server, prints its pid, then waits to be killed.
import { startTestServer } from '../../../lib/base/testing.js';

const server = await startTestServer({ role: 'lo', siteId: 'orphan', dir: process.argv[2] });
process.stdout.write(`nats-pid ${server.sup.pid()}\n`);
setInterval(() => undefined, 1 << 30);
