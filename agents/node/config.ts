import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';
import { tryParseQuantity } from '../../lib/model/index.js';
import { DEFAULT_MIRROR_RULES, mirrorRuleProblem, type MirrorRule } from '../../lib/registry/index.js';
import {
  defaultRuntimesConfig,
  parseMcus,
  parseRuntimesConfig,
  RUNTIME_LABEL_PREFIX,
  type McuConfig,
  type ConfigCheck,
  type RuntimesConfig,
} from '../runtimes/index.js';

/**
 * The agent's configuration, `<home>/agent.yaml` (ADR 0261). A file holds only what differs from the
 * defaults; unknown keys are refused so a typo never passes silently. Hand-written checks instead of a
 * schema library keep the long-running agent small.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** A daily time window in local time, `HH:MM`-`HH:MM` (may wrap past midnight), on some weekdays. */
export interface TimeWindow {
  start: string;
  end: string;
  /** Weekdays on which the window starts; default every day. */
  days?: Weekday[];
}

export type LabelValue = string | number | boolean | string[] | number[];

export interface AgentConfig {
  logging: { level: LogLevel };
  /** The Margo deviceId (default: the node name from the enrollment). */
  deviceId?: string;
  poll: {
    /** Polling interval rate. */
    intervalSeconds: number;
    /** Each wait is randomised by +- this fraction, so a fleet does not poll in step. */
    jitter: number;
    /** Timeout of one MMI request. */
    requestTimeoutSeconds: number;
    /** Longest wait after failures (exponential backoff up to this). */
    maxBackoffSeconds: number;
    /** Polling interval period: the hours in which the agent polls (absent: always). */
    activeHours?: TimeWindow;
    /** Downtime windows: no polling, no retries, communication errors ignored. */
    downtime: TimeWindow[];
  };
  capabilities: {
    vendor?: string;
    modelNumber?: string;
    serialNumber?: string;
    /** CPU cores delegated to workloads (default: all the host has). */
    cpuCores?: number;
    /** Memory delegated to workloads, e.g. `2Gi` (default: total memory minus `reserveMemory`). */
    memory?: string;
    reserveMemory: string;
    /** Storage delegated to workloads (default: free space of the agent home's file system minus `reserveStorage`). */
    storage?: string;
    reserveStorage: string;
    labels: Record<string, LabelValue>;
    otelCollector: boolean;
    /** How often hardware and runtimes are probed again (changes are re-sent). */
    recheckSeconds: number;
  };
  registries: {
    /** Plain HTTP (no TLS) for these registry hosts (`host:port`), or `true` for every loopback registry. */
    plainHttp: boolean | string[];
    /** PEM file of a private CA the registries' certificates chain to. */
    caFile?: string;
    /**
     * Registry credentials: a containers/Docker auth file (`podman login --authfile F`); also given to
     * podman as REGISTRY_AUTH_FILE (ADR 0341).
     */
    authFile?: string;
    timeoutSeconds: number;
    /**
     * The site registry (ADR 0422): its URL, or `false` for none; default: the one the LO named at
     * enrollment. The node authenticates with its SVID and verifies it with the site's trust anchors.
     */
    siteRegistry?: string | false;
    /** Where components are looked up first (longest prefix wins); default: everything through the site registry. */
    mirrors: MirrorRule[];
  };
  /** One section per registered runtime (agents/runtimes/registry.ts), each with `enabled`. */
  runtimes: RuntimesConfig;
  /** The agent's modules (agents/node/modules/), each on unless turned off here. */
  modules: Record<AgentModuleName, boolean>;
  deployments: {
    /** A deployment task (pull + apply of every component) is cancelled after this long. */
    timeoutSeconds: number;
    /** How long a component with `wait` gets to come up when it names no `timeout`. */
    componentTimeoutSeconds: number;
    /** Deployments reconciled at the same time. */
    concurrency: number;
    /** First delay before a failed deployment is tried again (doubles up to `maxRetrySeconds`). */
    retrySeconds: number;
    maxRetrySeconds: number;
    /** How often running workloads are checked (state changes are reported). */
    observeSeconds: number;
    /** First wait before a workload that stopped is started again (doubles up to `maxRestartSeconds`). */
    restartSeconds: number;
    maxRestartSeconds: number;
    /** A workload up this long is healthy again: its backoff starts over and a crash loop is over. */
    healthySeconds: number;
  };
  cache: { maxBytes: string };
  outbox: { maxReports: number };
  nats: { enabled: boolean };
  /**
   * Microcontrollers running Ocre on serial lines (ADR 0441): each is the child device
   * `<deviceId>/<name>`, run by the ocre runtime (`runtimes.ocre`).
   */
  mcus: McuConfig[];
  /** LAN discovery (ADR 0464): advertise `_outpost-agent._tcp` so the console lists this machine. */
  discovery: {
    advertise: boolean;
    /** Interface names or IPv4 addresses; empty: the interface the node reaches its LO through (none for loopback). */
    interfaces: string[];
  };
  /** SVID renewal (ADR 0380). */
  identity: {
    /** Renew when less than this fraction of the SVID's lifetime is left (default one third). */
    renewWhenRemaining: number;
    /** First wait after a failed renewal (doubles up to `maxRetrySeconds`; a Retry-After from the LO wins). */
    retrySeconds: number;
    maxRetrySeconds: number;
  };
}

/** The agent's modules, in the order they start (ADR 0270). */
export const AGENT_MODULES = [
  'outbox',
  'capabilities',
  'polling',
  'observation',
  'renewal',
  'bus',
  'advertise',
  'mcus',
] as const;
export type AgentModuleName = (typeof AGENT_MODULES)[number];

export function defaultAgentConfig(): AgentConfig {
  return {
    logging: { level: 'info' },
    poll: {
      intervalSeconds: 30,
      jitter: 0.1,
      requestTimeoutSeconds: 30,
      maxBackoffSeconds: 300,
      downtime: [],
    },
    capabilities: {
      reserveMemory: '256Mi',
      reserveStorage: '1Gi',
      labels: {},
      otelCollector: false,
      recheckSeconds: 300,
    },
    registries: {
      plainHttp: false,
      timeoutSeconds: 30,
      mirrors: DEFAULT_MIRROR_RULES.map((r) => ({ ...r })),
    },
    runtimes: defaultRuntimesConfig(),
    modules: Object.fromEntries(AGENT_MODULES.map((m) => [m, true])) as Record<AgentModuleName, boolean>,
    deployments: {
      timeoutSeconds: 900,
      componentTimeoutSeconds: 300,
      concurrency: 4,
      retrySeconds: 30,
      maxRetrySeconds: 600,
      observeSeconds: 10,
      restartSeconds: 1,
      maxRestartSeconds: 300,
      healthySeconds: 60,
    },
    cache: { maxBytes: '2Gi' },
    outbox: { maxReports: 10_000 },
    nats: { enabled: true },
    discovery: { advertise: true, interfaces: [] },
    mcus: [],
    identity: { renewWhenRemaining: 1 / 3, retrySeconds: 60, maxRetrySeconds: 3600 },
  };
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$/;
const DEVICE_ID = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker implements ConfigCheck {
  readonly problems: FieldProblem[] = [];
  bad(field: string, message: string): void {
    this.problems.push({ field, message });
  }
  /** Refuses keys not in `allowed`. */
  keys(o: Obj, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        this.bad(field ? `${field}.${k}` : k, `unknown setting (expected one of ${allowed.join(', ')})`);
      }
    }
  }
  num(v: unknown, field: string, min: number, max: number, int = false): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
      this.bad(
        field,
        `must be ${int ? 'an integer' : 'a number'} from ${min} to ${max}, not ${JSON.stringify(v)}`,
      );
      return undefined;
    }
    return v;
  }
  bool(v: unknown, field: string): boolean | undefined {
    if (typeof v !== 'boolean') {
      this.bad(field, `must be true or false, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }
  str(v: unknown, field: string, pattern?: RegExp, hint?: string): string | undefined {
    if (typeof v !== 'string' || v === '' || (pattern && !pattern.test(v))) {
      this.bad(field, `must be ${hint ?? 'a non-empty string'}, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }
  oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.bad(field, `must be one of ${values.join(', ')}, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v as T;
  }
  quantity(v: unknown, field: string): string | undefined {
    if (typeof v !== 'string' || tryParseQuantity(v) === undefined) {
      this.bad(field, `must be a quantity such as 512Mi or 2Gi, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }
  window(v: unknown, field: string): TimeWindow | undefined {
    if (!isObj(v)) {
      this.bad(field, 'must be { start: "HH:MM", end: "HH:MM", days?: [mon, ...] }');
      return undefined;
    }
    this.keys(v, field, ['start', 'end', 'days']);
    const start = this.str(v.start, `${field}.start`, HHMM, 'a time HH:MM');
    const end = this.str(v.end, `${field}.end`, HHMM, 'a time HH:MM');
    let days: Weekday[] | undefined;
    if (v.days !== undefined) {
      if (!Array.isArray(v.days) || v.days.length === 0)
        this.bad(`${field}.days`, 'must be a list of weekdays');
      else
        days = v.days
          .map((d, i) => this.oneOf(d, `${field}.days[${i}]`, WEEKDAYS))
          .filter((d): d is Weekday => !!d);
    }
    if (start === undefined || end === undefined) return undefined;
    if (start === end) this.bad(field, 'start and end must differ');
    return { start, end, ...(days ? { days } : {}) };
  }
}

function section(c: Checker, input: Obj, key: string, allowed: readonly string[]): Obj {
  const v = input[key];
  if (v === undefined || v === null) return {};
  if (!isObj(v)) {
    c.bad(key, 'must be a mapping');
    return {};
  }
  c.keys(v, key, allowed);
  return v;
}

/**
 * Validates a (partial) configuration on top of the defaults. Errors name every offending field:
 * `agent.yaml: poll.intervalSeconds: must be a number from 1 to 86400, not 0`.
 */
export function parseAgentConfig(input: unknown, source = 'agent configuration'): AgentConfig {
  const cfg = defaultAgentConfig();
  if (input === undefined || input === null) return cfg;
  const c = new Checker();
  if (!isObj(input)) {
    throw new OutpostError('invalid-config', `${source}: expected a mapping (key: value) at the top level`);
  }
  c.keys(input, '', [
    'logging',
    'deviceId',
    'poll',
    'capabilities',
    'registries',
    'runtimes',
    'deployments',
    'cache',
    'outbox',
    'nats',
    'discovery',
    'mcus',
    'identity',
    'modules',
  ]);
  const set = <T>(v: T | undefined, apply: (v: T) => void) => {
    if (v !== undefined) apply(v);
  };

  const logging = section(c, input, 'logging', ['level']);
  if (logging.level !== undefined)
    set(
      c.oneOf(logging.level, 'logging.level', [
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ] as const),
      (v) => (cfg.logging.level = v),
    );
  if (input.deviceId !== undefined)
    set(c.str(input.deviceId, 'deviceId', DEVICE_ID, 'a Margo device id'), (v) => (cfg.deviceId = v));

  const poll = section(c, input, 'poll', [
    'intervalSeconds',
    'jitter',
    'requestTimeoutSeconds',
    'maxBackoffSeconds',
    'activeHours',
    'downtime',
  ]);
  if (poll.intervalSeconds !== undefined)
    set(
      c.num(poll.intervalSeconds, 'poll.intervalSeconds', 0.05, 86_400),
      (v) => (cfg.poll.intervalSeconds = v),
    );
  if (poll.jitter !== undefined) set(c.num(poll.jitter, 'poll.jitter', 0, 0.5), (v) => (cfg.poll.jitter = v));
  if (poll.requestTimeoutSeconds !== undefined)
    set(
      c.num(poll.requestTimeoutSeconds, 'poll.requestTimeoutSeconds', 1, 3600),
      (v) => (cfg.poll.requestTimeoutSeconds = v),
    );
  if (poll.maxBackoffSeconds !== undefined)
    set(
      c.num(poll.maxBackoffSeconds, 'poll.maxBackoffSeconds', 0.1, 86_400),
      (v) => (cfg.poll.maxBackoffSeconds = v),
    );
  if (poll.activeHours !== undefined)
    set(c.window(poll.activeHours, 'poll.activeHours'), (v) => (cfg.poll.activeHours = v));
  if (poll.downtime !== undefined) {
    if (!Array.isArray(poll.downtime))
      c.bad('poll.downtime', 'must be a list of { start, end, days? } windows');
    else
      cfg.poll.downtime = poll.downtime
        .map((w, i) => c.window(w, `poll.downtime[${i}]`))
        .filter((w): w is TimeWindow => !!w);
  }

  const caps = section(c, input, 'capabilities', [
    'vendor',
    'modelNumber',
    'serialNumber',
    'cpuCores',
    'memory',
    'reserveMemory',
    'storage',
    'reserveStorage',
    'labels',
    'otelCollector',
    'recheckSeconds',
  ]);
  for (const k of ['vendor', 'modelNumber', 'serialNumber'] as const)
    if (caps[k] !== undefined) set(c.str(caps[k], `capabilities.${k}`), (v) => (cfg.capabilities[k] = v));
  if (caps.cpuCores !== undefined)
    set(c.num(caps.cpuCores, 'capabilities.cpuCores', 0.001, 4096), (v) => (cfg.capabilities.cpuCores = v));
  for (const k of ['memory', 'reserveMemory', 'storage', 'reserveStorage'] as const)
    if (caps[k] !== undefined)
      set(c.quantity(caps[k], `capabilities.${k}`), (v) => (cfg.capabilities[k] = v));
  if (caps.otelCollector !== undefined)
    set(
      c.bool(caps.otelCollector, 'capabilities.otelCollector'),
      (v) => (cfg.capabilities.otelCollector = v),
    );
  if (caps.recheckSeconds !== undefined)
    set(
      c.num(caps.recheckSeconds, 'capabilities.recheckSeconds', 1, 86_400),
      (v) => (cfg.capabilities.recheckSeconds = v),
    );
  if (caps.labels !== undefined) {
    if (!isObj(caps.labels)) c.bad('capabilities.labels', 'must be a mapping of label names to values');
    else {
      for (const [k, v] of Object.entries(caps.labels)) {
        const f = `capabilities.labels.${k}`;
        if (!LABEL_KEY.test(k))
          c.bad(f, 'label names are letters, digits, ".", "_", "-" and "/" (a domain prefix is recommended)');
        else if (k.startsWith(RUNTIME_LABEL_PREFIX))
          c.bad(
            f,
            `${RUNTIME_LABEL_PREFIX}* labels are the agent's own, one per runtime it can run; turn a runtime off with runtimes.<kind>.enabled`,
          );
        else if (isLabelValue(v)) cfg.capabilities.labels[k] = v;
        else c.bad(f, 'must be a string, number, boolean, or a list of strings or of numbers');
      }
    }
  }

  const reg = section(c, input, 'registries', [
    'plainHttp',
    'caFile',
    'authFile',
    'timeoutSeconds',
    'siteRegistry',
    'mirrors',
  ]);
  if (reg.plainHttp !== undefined) {
    if (typeof reg.plainHttp === 'boolean') cfg.registries.plainHttp = reg.plainHttp;
    else if (Array.isArray(reg.plainHttp) && reg.plainHttp.every((h) => typeof h === 'string' && h !== ''))
      cfg.registries.plainHttp = reg.plainHttp as string[];
    else c.bad('registries.plainHttp', 'must be true/false or a list of registry hosts (host:port)');
  }
  if (reg.caFile !== undefined)
    set(c.str(reg.caFile, 'registries.caFile'), (v) => (cfg.registries.caFile = v));
  if (reg.authFile !== undefined)
    set(
      c.str(reg.authFile, 'registries.authFile', /^\//, 'an absolute path'),
      (v) => (cfg.registries.authFile = v),
    );
  if (reg.timeoutSeconds !== undefined)
    set(
      c.num(reg.timeoutSeconds, 'registries.timeoutSeconds', 1, 3600),
      (v) => (cfg.registries.timeoutSeconds = v),
    );
  if (reg.siteRegistry === false) cfg.registries.siteRegistry = false;
  else if (reg.siteRegistry !== undefined)
    set(
      c.str(
        reg.siteRegistry,
        'registries.siteRegistry',
        /^https?:\/\/[^/\s]+\/?$/,
        'false or a URL https://host:port',
      ),
      (v) => (cfg.registries.siteRegistry = v.replace(/\/$/, '')),
    );
  if (reg.mirrors !== undefined) {
    if (!Array.isArray(reg.mirrors))
      c.bad('registries.mirrors', 'must be a list of { prefix, mirror, fallback } rules');
    else {
      const rules: MirrorRule[] = [];
      reg.mirrors.forEach((r, i) => {
        const f = `registries.mirrors[${i}]`;
        if (!isObj(r)) return c.bad(f, 'must be { prefix, mirror, fallback? }');
        c.keys(r, f, ['prefix', 'mirror', 'fallback']);
        const prefix = c.str(r.prefix, `${f}.prefix`);
        const mirror = c.str(r.mirror, `${f}.mirror`);
        const fallback = r.fallback === undefined ? true : c.bool(r.fallback, `${f}.fallback`);
        if (prefix === undefined || mirror === undefined || fallback === undefined) return;
        const rule = { prefix, mirror, fallback };
        const problem = mirrorRuleProblem(rule);
        if (problem) c.bad(f, problem);
        else rules.push(rule);
      });
      cfg.registries.mirrors = rules;
    }
  }

  const rt = input.runtimes;
  if (rt !== undefined && rt !== null) {
    if (!isObj(rt)) c.bad('runtimes', 'must be a mapping');
    else parseRuntimesConfig(rt, cfg.runtimes, c);
  }

  const dep = section(c, input, 'deployments', [
    'timeoutSeconds',
    'componentTimeoutSeconds',
    'concurrency',
    'retrySeconds',
    'maxRetrySeconds',
    'observeSeconds',
    'restartSeconds',
    'maxRestartSeconds',
    'healthySeconds',
  ]);
  if (dep.timeoutSeconds !== undefined)
    set(
      c.num(dep.timeoutSeconds, 'deployments.timeoutSeconds', 1, 86_400),
      (v) => (cfg.deployments.timeoutSeconds = v),
    );
  if (dep.componentTimeoutSeconds !== undefined)
    set(
      c.num(dep.componentTimeoutSeconds, 'deployments.componentTimeoutSeconds', 1, 86_400),
      (v) => (cfg.deployments.componentTimeoutSeconds = v),
    );
  if (dep.concurrency !== undefined)
    set(
      c.num(dep.concurrency, 'deployments.concurrency', 1, 64, true),
      (v) => (cfg.deployments.concurrency = v),
    );
  if (dep.retrySeconds !== undefined)
    set(
      c.num(dep.retrySeconds, 'deployments.retrySeconds', 0.1, 86_400),
      (v) => (cfg.deployments.retrySeconds = v),
    );
  if (dep.maxRetrySeconds !== undefined)
    set(
      c.num(dep.maxRetrySeconds, 'deployments.maxRetrySeconds', 0.1, 86_400),
      (v) => (cfg.deployments.maxRetrySeconds = v),
    );
  if (dep.observeSeconds !== undefined)
    set(
      c.num(dep.observeSeconds, 'deployments.observeSeconds', 0.05, 3600),
      (v) => (cfg.deployments.observeSeconds = v),
    );
  for (const k of ['restartSeconds', 'maxRestartSeconds', 'healthySeconds'] as const)
    if (dep[k] !== undefined)
      set(c.num(dep[k], `deployments.${k}`, 0.05, 86_400), (v) => (cfg.deployments[k] = v));

  const cache = section(c, input, 'cache', ['maxBytes']);
  if (cache.maxBytes !== undefined)
    set(c.quantity(cache.maxBytes, 'cache.maxBytes'), (v) => (cfg.cache.maxBytes = v));
  const outbox = section(c, input, 'outbox', ['maxReports']);
  if (outbox.maxReports !== undefined)
    set(
      c.num(outbox.maxReports, 'outbox.maxReports', 10, 10_000_000, true),
      (v) => (cfg.outbox.maxReports = v),
    );
  const nats = section(c, input, 'nats', ['enabled']);
  if (nats.enabled !== undefined) set(c.bool(nats.enabled, 'nats.enabled'), (v) => (cfg.nats.enabled = v));
  const disc = section(c, input, 'discovery', ['advertise', 'interfaces']);
  if (disc.advertise !== undefined)
    set(c.bool(disc.advertise, 'discovery.advertise'), (v) => (cfg.discovery.advertise = v));
  if (disc.interfaces !== undefined) {
    if (!Array.isArray(disc.interfaces))
      c.bad('discovery.interfaces', 'must be a list of interface names or addresses');
    else {
      const list = disc.interfaces.map((v, i) => c.str(v, `discovery.interfaces[${i}]`));
      if (list.every((v) => v !== undefined)) cfg.discovery.interfaces = list as string[];
    }
  }
  cfg.mcus = parseMcus(input.mcus, c);

  const idn = section(c, input, 'identity', ['renewWhenRemaining', 'retrySeconds', 'maxRetrySeconds']);
  if (idn.renewWhenRemaining !== undefined)
    set(
      c.num(idn.renewWhenRemaining, 'identity.renewWhenRemaining', 0.05, 0.95),
      (v) => (cfg.identity.renewWhenRemaining = v),
    );
  if (idn.retrySeconds !== undefined)
    set(
      c.num(idn.retrySeconds, 'identity.retrySeconds', 0.1, 86_400),
      (v) => (cfg.identity.retrySeconds = v),
    );
  if (idn.maxRetrySeconds !== undefined)
    set(
      c.num(idn.maxRetrySeconds, 'identity.maxRetrySeconds', 0.1, 86_400),
      (v) => (cfg.identity.maxRetrySeconds = v),
    );

  const mods = section(c, input, 'modules', AGENT_MODULES);
  for (const m of AGENT_MODULES)
    if (mods[m] !== undefined) set(c.bool(mods[m], `modules.${m}`), (v) => (cfg.modules[m] = v));

  if (c.problems.length > 0) {
    const first = c.problems[0]!;
    const more = c.problems.length > 1 ? ` (and ${c.problems.length - 1} more)` : '';
    throw new OutpostError('invalid-config', `${source}: ${first.field}: ${first.message}${more}`, {
      errors: c.problems.map((p) => ({ ...p, file: source })),
    });
  }
  return cfg;
}

function isLabelValue(v: unknown): v is LabelValue {
  if (typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (!Array.isArray(v)) return false;
  return v.every((x) => typeof x === 'string') || v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Reads `agent.yaml` (absent: defaults). Syntax errors name the file, line and column. */
export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return defaultAgentConfig();
    throw new OutpostError('invalid-config', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (text.trim() === '') return defaultAgentConfig();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new OutpostError(
      'invalid-config',
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`,
    );
  }
  return parseAgentConfig(doc.toJS({ maxAliasCount: 100 }), file);
}

/** Seconds to milliseconds. */
export const ms = (seconds: number): number => Math.round(seconds * 1000);

/** Bytes of a quantity the config parser already checked. */
export function bytesOf(q: string): number {
  return tryParseQuantity(q) ?? 0;
}
