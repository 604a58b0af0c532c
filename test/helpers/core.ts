import { createPaths, systemClock, type Clock } from '../../lib/base/index.js';
import { silentLogger, type Logger } from '../../lib/log/index.js';
import { mergeConfig, parseConfig, type ConfigOverrides } from '../../core/config.js';
import { openStore } from '../../core/store/db.js';
import { createCore, type Core } from '../../core/create-core.js';
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
