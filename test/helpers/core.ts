import { createPaths, systemClock, type Clock } from '../../lib/base/index.js';
import { silentLogger, type Logger } from '../../lib/log/index.js';
import { mergeConfig, parseConfig, type ConfigOverrides } from '../../core/config.js';
import { openStore } from '../../core/store/db.js';
import { createCore, type Core } from '../../core/create-core.js';
import { parseDeviceCapabilities } from '../../lib/margo-validation/index.js';
import { capabilitiesFor } from '../fixtures/margo.js';
import { tempHome } from './home.js';

/**
 * A real core on a real SQLite file in a temporary home (no HTTP). NATS, the MMI and the site registry are
 * off unless asked for (on free ports then).
 */
export async function startTestCore(
  options: {
    overrides?: ConfigOverrides;
    clock?: Clock;
    bootstrapToken?: string;
    /** Default: a silent logger. */
    logger?: Logger;
    /** Reuse this home (e.g. to restart on the same data); it is then not removed on stop. */
    home?: string;
  } = {},
): Promise<{ core: Core; home: string; stop(): Promise<void> }> {
  const own = options.home === undefined ? tempHome() : undefined;
  const home = options.home ?? own!.home;
  const cleanup = () => own?.cleanup();
  const paths = createPaths(home);
  const config = parseConfig(
    mergeConfig(
      {
        nats: { enabled: false, port: 0, leafPort: 0 },
        mmi: { enabled: false, port: 0 },
        registry: { enabled: false, port: 0, loopbackPort: 0 },
      },
      options.overrides ?? {},
    ),
  );
  let store: ReturnType<typeof openStore> | undefined;
  let core: Core;
  try {
    store = openStore(paths.dbFile);
    core = createCore({
      config,
      paths,
      store,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger(),
      version: '0.0.0-test',
      ...(options.bootstrapToken ? { bootstrapToken: options.bootstrapToken } : {}),
    });
    await core.start();
  } catch (err) {
    // A core that did not start leaves no folder behind.
    store?.close();
    cleanup();
    throw err;
  }
  const opened = store;
  return {
    core,
    home,
    async stop() {
      await core.stop();
      opened.close();
      cleanup();
    },
  };
}

/**
 * Fixture: registered node `name` (tenant `default`) is enrolled and reported its capabilities
 * (`capabilitiesFor(name)`) at `at`, what enrollment and PUT /capabilities do, written straight to its row.
 * `enrolledAt` also sets the enrollment time.
 */
export function markEnrolled(
  core: Core,
  name: string,
  at = Date.now(),
  options: { enrolledAt?: boolean } = {},
): void {
  const caps = JSON.stringify(parseDeviceCapabilities(capabilitiesFor(name)));
  const uid = `default.${name}`;
  if (options.enrolledAt)
    core.store.sqlite
      .prepare(
        `UPDATE nodes SET state = 'enrolled', capabilities = ?, capabilities_at = ?, last_seen_at = ?, enrolled_at = ? WHERE uid = ?`,
      )
      .run(caps, at, at, at, uid);
  else
    core.store.sqlite
      .prepare(
        `UPDATE nodes SET state = 'enrolled', capabilities = ?, capabilities_at = ?, last_seen_at = ? WHERE uid = ?`,
      )
      .run(caps, at, at, uid);
}

/** Registers each node through the API at its site, then marks it enrolled with its capabilities (`markEnrolled`). */
export async function addEnrolledNodes(
  core: Core,
  names: readonly string[],
  siteOf: string | ((name: string) => string),
  options: { enrolledAt?: boolean } = {},
): Promise<void> {
  const c = core.client();
  const now = Date.now();
  for (const name of names) {
    await c.nodes.add({ name, siteId: typeof siteOf === 'string' ? siteOf : siteOf(name) });
    markEnrolled(core, name, now, options);
  }
}
