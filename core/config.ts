import { z } from 'zod';
import { OutpostError, type FieldProblem } from '../lib/errors/index.js';
import { tryParseQuantity } from '../lib/model/index.js';
import { ROLES, type Role } from './roles.js';

/**
 * Configuration: `defaultConfig()` plus a validating `parseConfig()`. A config file holds only what
 * differs from the defaults; unknown keys are refused so a typo never passes silently.
 */

export { ROLES, type Role };

const port = z.number().int().min(0).max(65535);
const gitRemoteSchema = z
  .object({
    url: z.string().url(),
    branch: z.string().min(1),
    username: z.string().optional(),
    tokenEnv: z.string().optional(),
    token: z.string().optional(),
  })
  .strict();

const seconds = z.number().positive();
/** A byte count: a number, or a quantity such as `50Gi` or `512Mi`. */
const bytes = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .refine((v) => tryParseQuantity(v) !== undefined, { message: 'must be a size such as 512Mi or 50Gi' })
    .transform((v) => Math.floor(tryParseQuantity(v)!)),
]);

const gitCredential = z
  .object({
    /** Applies to URLs starting with this prefix (e.g. `https://git.example.com/acme/`). */
    urlPrefix: z.string().min(1),
    username: z.string().optional(),
    /** Name of an environment variable holding the token (preferred: keeps secrets out of the file). */
    tokenEnv: z.string().optional(),
    token: z.string().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    role: z.enum(ROLES),
    logging: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) })
      .strict(),
    server: z
      .object({
        host: z.string().min(1),
        port,
        /** Largest request body the console API accepts. */
        maxBodyBytes: z.number().int().positive(),
        /** How long in-flight requests may take to finish on shutdown. */
        shutdownGraceMs: z.number().int().nonnegative(),
      })
      .strict(),
    tenancy: z.object({ defaultTenant: z.string().regex(/^[a-z0-9-]{1,63}$/) }).strict(),
    site: z
      .object({
        /** The site this LO serves (role lo or all). */
        id: z.string().regex(/^[a-z0-9-]{1,63}$/),
        name: z.string().min(1),
      })
      .strict(),
    mmi: z
      .object({
        enabled: z.boolean(),
        host: z.string().min(1),
        port,
        trustDomain: z.string().regex(/^[a-z0-9._-]+$/),
        wfmId: z.string().regex(/^[A-Za-z0-9._~-]+$/),
        /** Lifetime of SVIDs the site CA issues to clients. */
        svidTtlHours: z.number().positive(),
      })
      .strict(),
    discovery: z
      .object({
        /** Advertise the LO (`_outpost._tcp`) and list agents found on the LAN (ADR 0460). */
        enabled: z.boolean(),
        /** Interface names or IPv4 addresses; empty: the interfaces the MMI listens on (none for loopback). */
        interfaces: z.array(z.string().min(1)),
        /** The MMI URL advertised; default the MMI's own (its interface's address when it listens on all). */
        mmiUrl: z.string().url().optional(),
        /** Pending enrollment requests expire after this many minutes (ADR 0462). */
        requestTtlMinutes: z
          .number()
          .positive()
          .max(7 * 24 * 60),
        /** Enrollment requests one address may file per hour (ADR 0462). */
        requestsPerHour: z.number().int().positive(),
      })
      .strict(),
    nats: z
      .object({
        enabled: z.boolean(),
        /** Path to nats-server; otherwise resources/bin, then PATH. */
        binary: z.string().optional(),
        host: z.string().min(1),
        port,
        leafPort: port,
        /**
         * For a CO: the `host:port` LOs reach the leaf port at, advertised to them and put into the
         * `hubLeafUrl` it issues (ADR 0167). Default: `host:leafPort`. Behind a relay or NAT, name the
         * address LOs are configured with, so a reconnecting LO never learns another path.
         */
        leafAdvertise: z
          .string()
          .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, 'must be host:port')
          .optional(),
        /** For an LO: the CO's leaf-node URL (nats-leaf://host:port); absent means standalone. */
        hubLeafUrl: z.string().optional(),
        /** For an LO: the CO's CA certificate (PEM file) to verify the CO's leaf port (edgectl co link-site writes it). */
        hubCaFile: z.string().optional(),
        /** Serve clients and leaf links over TLS with a certificate from the site CA. */
        tls: z.boolean(),
        heartbeatSeconds: seconds,
        /**
         * The longest period at which a healthy node contacts this server: its agent's poll interval
         * (agent.yaml `poll.intervalSeconds`, 30 by default; heartbeats over the bus are more frequent, but
         * a node without the bus still polls). The presence thresholds are derived from it with margin
         * (ADR 0500), so a node that reports on time is never shown anything but online.
         */
        checkInSeconds: seconds,
        /** Default `2 x checkInSeconds + 10`; at least `1.5 x checkInSeconds` when given. */
        staleAfterSeconds: seconds,
        /** Default `2 x staleAfterSeconds`. */
        offlineAfterSeconds: seconds,
      })
      .strict(),
    git: z
      .object({
        remote: gitRemoteSchema.optional(),
        /**
         * The remotes of other tenants' deployments repositories (the default tenant's is `remote`): a
         * tenant's remote site's LO follows its tenant's repository as its own (ADR 0522).
         */
        tenantRemotes: z
          .record(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/), gitRemoteSchema)
          .optional(),
        fetchIntervalSeconds: seconds,
        author: z.object({ name: z.string().min(1), email: z.string().min(3) }).strict(),
      })
      .strict(),
    airgap: z
      .object({
        /** The id this server writes as the source of HQ bundles and accepts as the target of status bundles. */
        hqId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
        /** Default lifetime of a bundle (`--expires`). */
        expiresDays: z.number().positive().max(3650),
        drives: z
          .object({
            /** Watch for removable drives (lsblk) and offer the bundles found on them. */
            enabled: z.boolean(),
            intervalSeconds: seconds,
            /** The lsblk to run (a path, or a name on PATH). */
            lsblk: z.string().min(1),
            /**
             * The mount table read every `intervalSeconds`: lsblk runs only when it changed (and every
             * minute regardless). `/proc/self/mountinfo`; tests point it at a file of their own.
             */
            mountTable: z.string().min(1),
          })
          .strict(),
        /** Largest size of the HQ's cache of artifacts fetched from their registries for bundles. */
        artifactCacheBytes: bytes,
        /** Credentials and TLS for the registries HQ fetches artifacts from (anonymous otherwise). */
        registries: z.array(
          z
            .object({
              /** `host` or `host:port`, as in the references. */
              host: z.string().min(1),
              username: z.string().optional(),
              /** Name of an environment variable holding the password or token. */
              tokenEnv: z.string().optional(),
              token: z.string().optional(),
              /** PEM file of a private CA that signs the registry's certificate. */
              caFile: z.string().optional(),
              /** Plain HTTP (always allowed on loopback). */
              plainHttp: z.boolean().optional(),
            })
            .strict(),
        ),
      })
      .strict(),
    registry: z
      .object({
        /** Serve the site registry (roles lo and all). */
        enabled: z.boolean(),
        /** Address of the HTTPS listener (agents and tools on the LAN). */
        host: z.string().min(1),
        port,
        /** Port of the plain-HTTP listener, always bound to 127.0.0.1 (tools on this machine); null: none. */
        loopbackPort: port.nullable(),
        /** URL agents are told at enrollment (e.g. https://lo.plant7.example:7500); default: the listener's. */
        publicUrl: z.string().url().optional(),
        /** More host names and addresses for the server certificate (how nodes reach this LO). */
        tlsHosts: z.array(z.string().min(1)),
        /** Let anyone pull without a token or a node certificate. */
        anonymousPull: z.boolean(),
        /** Total size of the store; null: only the disk limits it (registry/quota-exceeded, HTTP 507). */
        quotaBytes: bytes.nullable(),
        /** Bytes that must stay free on the disk after any write. */
        reserveFreeBytes: bytes,
        maxBlobBytes: bytes,
        maxManifestBytes: bytes,
        /** Garbage collection removes nothing younger than this (pushes in progress). */
        gcGraceSeconds: z.number().nonnegative(),
      })
      .strict(),
    catalog: z
      .object({
        maxDescriptionBytes: z.number().int().positive(),
        gitTimeoutMs: z.number().int().positive(),
        credentials: z.array(gitCredential),
        /**
         * Who may have the server fetch an application from a git host on loopback, link-local or a
         * private network (ADR 0483): `admins` (default), `everyone`, or `nobody`.
         */
        privateGitHosts: z.enum(['admins', 'everyone', 'nobody']),
      })
      .strict(),
    /** Fleet health history (ADR 0228): how often the time series is sampled, and how long it is kept. */
    health: z
      .object({
        sampleEverySeconds: z.number().int().min(1).max(3600),
        /** Five-minute points are kept this many hours; hourly points this many days. */
        fineRetentionHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 30),
        coarseRetentionDays: z.number().int().min(1).max(3650),
      })
      .strict(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export function defaultConfig(): Config {
  return {
    role: 'all',
    logging: { level: 'info' },
    server: { host: '127.0.0.1', port: 7700, maxBodyBytes: 16 * 1024 * 1024, shutdownGraceMs: 10_000 },
    tenancy: { defaultTenant: 'default' },
    site: { id: 'local', name: 'Local site' },
    mmi: {
      enabled: true,
      host: '127.0.0.1',
      port: 7443,
      trustDomain: 'outpost.local',
      wfmId: 'outpost',
      svidTtlHours: 24 * 30,
    },
    discovery: { enabled: true, interfaces: [], requestTtlMinutes: 60, requestsPerHour: 10 },
    nats: {
      enabled: true,
      tls: true,
      host: '127.0.0.1',
      port: 4222,
      leafPort: 7422,
      heartbeatSeconds: 10,
      checkInSeconds: 30,
      // Derived from checkInSeconds by parseConfig unless given (ADR 0500).
      staleAfterSeconds: 70,
      offlineAfterSeconds: 140,
    },
    git: { fetchIntervalSeconds: 30, author: { name: 'Outpost', email: 'outpost@localhost' } },
    airgap: {
      hqId: 'hq',
      expiresDays: 30,
      drives: { enabled: true, intervalSeconds: 2, lsblk: 'lsblk', mountTable: '/proc/self/mountinfo' },
      artifactCacheBytes: 10 * 1024 * 1024 * 1024,
      registries: [],
    },
    registry: {
      enabled: true,
      host: '127.0.0.1',
      port: 7500,
      loopbackPort: 7501,
      tlsHosts: [],
      anonymousPull: false,
      quotaBytes: null,
      reserveFreeBytes: 512 * 1024 * 1024,
      maxBlobBytes: 16 * 1024 * 1024 * 1024,
      maxManifestBytes: 4 * 1024 * 1024,
      gcGraceSeconds: 3600,
    },
    catalog: {
      maxDescriptionBytes: 1024 * 1024,
      gitTimeoutMs: 20_000,
      credentials: [],
      privateGitHosts: 'admins',
    },
    health: { sampleEverySeconds: 60, fineRetentionHours: 48, coarseRetentionDays: 90 },
  };
}

type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
export type ConfigOverrides = DeepPartial<Config>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where arrays and scalars from `over` replace those in `base`. */
export function mergeConfig<T>(base: T, over: unknown): T {
  if (!isPlainObject(over) || !isPlainObject(base)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = k in out && isPlainObject(out[k]) && isPlainObject(v) ? mergeConfig(out[k], v) : v;
  }
  return out as T;
}

/**
 * Validates a (partial) configuration on top of the defaults. Errors name every offending field:
 * `config.json: server.port: Too big: expected number to be <=65535`.
 */
export function parseConfig(input: unknown, source = 'configuration'): Config {
  if (input !== undefined && !isPlainObject(input)) {
    throw new OutpostError('invalid-config', `${source}: expected an object at the top level`);
  }
  const merged = mergeConfig(defaultConfig(), input ?? {});
  // Presence thresholds not given are derived from the check-in period (ADR 0500).
  const givenNats = (isPlainObject(input) && isPlainObject(input.nats) ? input.nats : {}) as Record<
    string,
    unknown
  >;
  const checkIn = (merged as Config).nats.checkInSeconds;
  if (typeof checkIn === 'number' && checkIn > 0) {
    // One whole period missed, plus 10 s for what delays a check-in that is on time (jitter, a busy
    // machine, the request itself, the console's refresh between answers).
    if (givenNats.staleAfterSeconds === undefined)
      (merged as Config).nats.staleAfterSeconds = derivedStaleAfter(checkIn);
    if (givenNats.offlineAfterSeconds === undefined)
      (merged as Config).nats.offlineAfterSeconds = Math.max(
        2 * (merged as Config).nats.staleAfterSeconds,
        (merged as Config).nats.staleAfterSeconds + checkIn,
      );
  }
  const result = configSchema.safeParse(merged);
  if (result.success) {
    const c = result.data;
    // A node that reports on time must never look stale: the threshold leaves a margin over the period
    // (its jitter, the request, the console's refresh between answers).
    if (c.nats.staleAfterSeconds < 1.5 * c.nats.checkInSeconds) {
      throw new OutpostError(
        'invalid-config',
        `${source}: nats.staleAfterSeconds (${c.nats.staleAfterSeconds}) must be at least 1.5 x nats.checkInSeconds (${c.nats.checkInSeconds}): a node that checks in on time would be shown stale (leave it out to derive it: ${derivedStaleAfter(c.nats.checkInSeconds)})`,
        {
          errors: [
            {
              field: 'nats.staleAfterSeconds',
              message: `must be at least 1.5 x nats.checkInSeconds (${c.nats.checkInSeconds})`,
            },
          ],
        },
      );
    }
    if (!(c.nats.staleAfterSeconds < c.nats.offlineAfterSeconds)) {
      throw new OutpostError(
        'invalid-config',
        `${source}: nats.staleAfterSeconds (${c.nats.staleAfterSeconds}) must be less than nats.offlineAfterSeconds (${c.nats.offlineAfterSeconds})`,
        {
          errors: [
            { field: 'nats.staleAfterSeconds', message: 'must be less than nats.offlineAfterSeconds' },
          ],
        },
      );
    }
    return c;
  }
  const problems: FieldProblem[] = result.error.issues.map((i) => ({
    field: formatPath(i.path),
    message:
      i.code === 'unrecognized_keys'
        ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`
        : i.message,
  }));
  const lines = problems.map((p) => `${p.field || '(top level)'}: ${p.message}`);
  throw new OutpostError('invalid-config', `${source}: ${lines.join('; ')}`, { errors: problems });
}

/** The stale threshold derived from the check-in period (ADR 0500): one missed period plus 10 s. */
export function derivedStaleAfter(checkInSeconds: number): number {
  return 2 * checkInSeconds + 10;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}
