import fs from 'node:fs';
import { createPaths } from '../../lib/base/index.js';
import { openStore } from '../../core/store/db.js';
import { nodes, sites } from '../../core/store/schema/index.js';

/**
 * Writes a large fleet into the database of a fresh home, before its server starts, in one transaction,
 * with the rows the fleet module writes. Registering nodes through the API costs one synchronous commit
 * plus an audit entry each (~20 ms here), minutes for thousands.
 *
 * Node `bulk-<i>` (zero-padded to five digits) is at `plant-a` for even i, `plant-b` for odd i, has the
 * label `rack=r<i % 20>` and, by i % 4: was seen a second ago, 12 minutes ago, an hour ago, or never
 * (registered, no capabilities). The config gives presence thresholds of 10 and 30 minutes, so what the
 * server says about each node cannot change while a test runs, and turns NATS and the Margo interface
 * off (the console does not need them; their fixed ports could collide with another server here).
 */
export function seedFleet(home: string, total: number): void {
  const paths = createPaths(home);
  fs.writeFileSync(
    paths.configFile,
    'nats:\n  enabled: false\n  staleAfterSeconds: 600\n  offlineAfterSeconds: 1800\nmmi:\n  enabled: false\n',
  );
  const store = openStore(paths.dbFile);
  try {
    const now = Date.now();
    store.tx(() => {
      for (const id of ['plant-a', 'plant-b']) {
        store.db
          .insert(sites)
          .values({ tenantId: 'default', id, name: id, labels: {}, servedBy: 'embedded', createdAt: now })
          .run();
      }
      for (let i = 0; i < total; i++) {
        const name = `bulk-${String(i).padStart(5, '0')}`;
        const seen = [now - 1000, now - 720_000, now - 3_600_000, null][i % 4]!;
        store.db
          .insert(nodes)
          .values({
            uid: `default.${name}`,
            tenantId: 'default',
            name,
            siteId: i % 2 ? 'plant-b' : 'plant-a',
            labels: { rack: `r${i % 20}` },
            state: seen === null ? 'registered' : 'enrolled',
            capabilities:
              seen === null
                ? null
                : {
                    properties: {
                      id: name,
                      vendor: 'EdgeCircuit Systems',
                      modelNumber: 'EC-G12-4',
                      serialNumber: `SN${i}`,
                      cpus: [{ cores: 4, architecture: 'arm64' }],
                      memory: '8Gi',
                    },
                  },
            capabilitiesAt: seen,
            lastSeenAt: seen,
            enrolledAt: seen === null ? null : now - 7_200_000,
            createdAt: now - 7_200_000,
          })
          .run();
      }
    });
  } finally {
    store.close();
  }
}
