import crypto from 'node:crypto';

/**
 * The `ocre` shell command of Ocre's supervisor firmware (project-ocre/ocre-runtime src/shell,
 * 2026 "context/container" API), for the device simulator: the same command syntax, messages,
 * output format (`ID\tSTATUS\tIMAGE`, padded status names) and container state machine. The
 * container list lives in RAM, as on the device: `reset()` loses it; images are files under
 * `<workdir>/images` and survive.
 */
export const OCRE_STATUSES = [
  'UNKNOWN',
  'CREATED',
  'RUNNING',
  'PAUSED ',
  'EXITED ',
  'STOPPED',
  'ERROR  ',
] as const;
export type OcreStatus = 'UNKNOWN' | 'CREATED' | 'RUNNING' | 'PAUSED' | 'EXITED' | 'STOPPED' | 'ERROR';
const STATUS_INDEX: Record<OcreStatus, number> = {
  UNKNOWN: 0,
  CREATED: 1,
  RUNNING: 2,
  PAUSED: 3,
  EXITED: 4,
  STOPPED: 5,
  ERROR: 6,
};

export interface OcreContainer {
  id: string;
  image: string;
  runtime: string | undefined;
  detached: boolean;
  capabilities: string[];
  env: string[];
  mounts: string[];
  argv: string[];
  status: OcreStatus;
  exitCode: number | undefined;
}

/** The file access the shell needs (the simulator's littlefs). */
export interface OcreFiles {
  read(path: string): Buffer | undefined;
  remove(path: string): boolean;
  list(dir: string): string[];
}

export interface OcreShellOptions {
  workdir?: string;
  /** Zephyr log lines (`<err> context: ...`), printed on the console by the simulator. */
  log?: (line: string) => void;
  randomId?: () => string;
}

export interface OcreRun {
  ret: number;
  /** stdout and stderr as the program printed them, in order. */
  out: string;
}

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

export function isValidOcreName(s: string): boolean {
  return /^[a-z0-9_.-]+$/.test(s) && !s.startsWith('.');
}

export class OcreShell {
  readonly containers = new Map<string, OcreContainer>();
  private readonly workdir: string;
  private readonly log: (line: string) => void;
  private readonly randomId: () => string;

  constructor(
    private readonly files: OcreFiles,
    options: OcreShellOptions = {},
  ) {
    this.workdir = options.workdir ?? '/lfs/ocre';
    this.log = options.log ?? (() => undefined);
    this.randomId =
      options.randomId ??
      (() =>
        Array.from(crypto.randomBytes(7), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join(''));
  }

  private readonly waiters = new Map<string, () => void>();

  /** Device reset: the container list is in RAM and is gone (a blocked `wait` never returns). */
  reset(): void {
    this.containers.clear();
    this.waiters.clear();
  }

  /** A running container's program ended with this code (from the test harness). */
  exit(id: string, code: number): boolean {
    const c = this.containers.get(id);
    if (!c || c.status !== 'RUNNING') return false;
    c.status = 'EXITED';
    c.exitCode = code;
    this.waiters.get(id)?.();
    return true;
  }

  /** Runs `ocre ...`; `container wait` on a running container blocks until it exits, as on the device. */
  async run(argv: string[]): Promise<OcreRun> {
    const out: string[] = [];
    const p = (s: string) => out.push(s);
    const ret = await this.main(argv, p);
    return { ret, out: out.join('') };
  }

  private main(argv: string[], p: (s: string) => void): number | Promise<number> {
    const argv0 = argv[0] ?? 'ocre';
    let i = 1;
    let verbose = false;
    for (; i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '-'; i++) {
      for (const ch of argv[i]!.slice(1)) {
        if (ch !== 'v') {
          p(`Invalid option: '${ch}'\n`);
          return -1;
        }
        if (verbose) {
          p("'-v' can be set only once\n\n");
          return this.usage(argv0, p);
        }
        verbose = true;
      }
    }
    if (i >= argv.length) return this.usage(argv0, p);
    if (verbose) p('Using context: 0x20001a40\n');
    const cmd = argv[i]!;
    const rest = argv.slice(i);
    switch (cmd) {
      case 'help':
        return this.usage(argv0, p);
      case 'version':
        p('Ocre version 1.0\n');
        return 0;
      case 'image':
        return this.image(argv0, rest, p);
      case 'container':
        return this.container(argv0, rest, p);
      case 'ps':
        return this.ps(argv0, rest, p);
      case 'create':
      case 'run':
        return this.createRun(argv0, rest, p);
      case 'start':
        return this.start(argv0, rest, p);
      case 'kill':
        return this.kill(argv0, rest, p);
      case 'rm':
        return this.rm(argv0, rest, p);
      case 'images':
        return this.imageLs(argv0, rest, p);
      case 'pull':
        return this.imagePull(argv0, rest, p);
      default:
        p(`Invalid command: '${argv0} ${cmd}'\n\n`);
        return this.usage(argv0, p);
    }
  }

  private usage(argv0: string, p: (s: string) => void): number {
    p(`Usage: ${argv0} [-v] <COMMAND>\n\nOptions:\n  -v        Verbose mode\n\nCommands:\n`);
    p('  help      Display this help message\n  version   Display version information\n');
    p('  image     Image manipulation commands\n  container Container management commands\n');
    p(
      '\nShortcut Commands:\n  ps        container ps\n  create    container create\n  run       container run\n',
    );
    p('  start     container start\n  kill      container kill\n  rm        container rm\n');
    p('  images    image ls\n  pull      image pull\n');
    return -1;
  }

  private container(argv0: string, argv: string[], p: (s: string) => void): number | Promise<number> {
    const usage = () => {
      p(`Usage: ${argv0} container <COMMAND>\n\nCommands:\n`);
      p('  run       Created and starts a new container\n  create    Create a new container\n');
      p('  start     Start a container\n  kill      Kill a running or paused container\n');
      p(
        '  wait      Wait for a container to exit\n  ps        List containers\n  rm        Remove a stopped container\n',
      );
      return 0;
    };
    if (argv.length < 2) return usage();
    const sub = argv.slice(1);
    switch (argv[1]) {
      case 'help':
        return usage();
      case 'run':
      case 'create':
        return this.createRun(argv0, sub, p);
      case 'start':
        return this.start(argv0, sub, p);
      case 'kill':
        return this.kill(argv0, sub, p);
      case 'stop':
      case 'pause':
      case 'unpause':
        // Not supported by WAMR containers (Ocre docs); the runtime refuses.
        p(`Failed to ${argv[1]} container '${sub[1] ?? ''}'\n`);
        return -1;
      case 'wait':
        return this.wait(argv0, sub, p);
      case 'ps':
        return this.ps(argv0, sub, p);
      case 'rm':
        return this.rm(argv0, sub, p);
      default:
        p(`Invalid command: '${argv0} container ${argv[1]}'\n\n`);
        usage();
        return 0;
    }
  }

  private createRun(argv0: string, argv: string[], p: (s: string) => void): number {
    const cmd = argv[0]!;
    const usage = () => {
      p(`Usage: ${argv0} container ${cmd} [options] IMAGE [ARG...]\n`);
      p(
        cmd === 'create'
          ? '\nCreates a container in the Ocre context.\n'
          : '\nCreates and starts a container in the Ocre context.\n',
      );
      p('\nOptions:\n  -d                       Creates a detached container\n');
      p(
        '  -n CONTAINER_ID          Specifies a container ID\n  -r RUNTIME               Specifies the runtime to use\n',
      );
      p('  -v VOLUME:MOUNTPOINT     Adds a volume to be mounted into the container\n');
      p('  -v /ABSPATH:MOUNTPOINT   Adds a directory to be mounted into the container\n');
      p('  -k CAPABILITY            Adds a capability to the container\n');
      p('  -e VAR=VALUE             Sets an environment variable in the container\n');
      p("\nOptions '-v' and '-e' and '-k' can be supplied multiple times.\n");
      return -1;
    };
    if (argv.length < 2) {
      p(`'${argv0} container ${cmd}' requires arguments\n\n`);
      return usage();
    }
    let detached = false;
    let id: string | undefined;
    let runtime: string | undefined;
    const caps: string[] = [];
    const env: string[] = [];
    const mounts: string[] = [];
    const parsed = getopt(argv, 'de:k:n:r:v:');
    if ('error' in parsed) {
      p(`Invalid option '-${parsed.error}'\n`);
      return -1;
    }
    for (const { opt, arg } of parsed.opts) {
      if (opt === 'd') {
        if (detached) {
          p('Detached mode can be set only once\n\n');
          usage();
          return -1;
        }
        detached = true;
      } else if (opt === 'n') {
        if (id !== undefined) {
          p('Container ID can be set only once\n\n');
          usage();
          return -1;
        }
        if (!isValidOcreName(arg!)) {
          p(
            `Invalid characters in container ID '${arg}'. Valid are [a-z0-9_-.] (lowercase alphanumeric) and cannot start with '.'\n`,
          );
          return -1;
        }
        id = arg;
      } else if (opt === 'r') {
        if (runtime !== undefined) {
          p('Runtime can be set only once\n\n');
          usage();
          return -1;
        }
        runtime = arg;
      } else if (opt === 'v') {
        const v = arg!;
        if (!v.startsWith('/')) {
          p(`Invalid mount format: '${v}': source must be absolute path\n`);
          return -1;
        }
        const colon = v.indexOf(':');
        if (colon < 0) {
          p(`Invalid mount format: '${v}': must be <source>:<destination>\n`);
          return -1;
        }
        const dst = v.slice(colon + 1);
        if (!dst.startsWith('/')) {
          p(`Invalid mount format: '${v}': destination must be absolute path\n`);
          return -1;
        }
        if (dst === '/') {
          p(`Invalid mount format: '${v}': destination must not be '/'\n`);
          return -1;
        }
        mounts.push(v);
      } else if (opt === 'k') caps.push(arg!);
      else if (opt === 'e') env.push(arg!);
    }
    if (parsed.optind >= argv.length) {
      p(`'${argv0} container ${cmd}' requires at least one non option argument\n\n`);
      usage();
      return -1;
    }
    const image = argv[parsed.optind]!;
    if (!isValidOcreName(image)) {
      p(
        `Invalid characters in image ID '${image}'. Valid are [a-z0-9_-.] (lowercase alphanumeric) and cannot start with '.'`,
      );
      return -1;
    }
    const container = this.create(image, runtime, id, detached, {
      caps,
      env,
      mounts,
      argv: argv.slice(parsed.optind + 1),
    });
    if (!container) {
      p('Failed to create container\n');
      return -1;
    }
    if (cmd === 'run' && !this.startContainer(container)) {
      p('Failed to start container\n');
      return -1;
    }
    if (detached) p(`${container.id}\n`);
    return 0;
  }

  private create(
    image: string,
    runtime: string | undefined,
    wantedId: string | undefined,
    detached: boolean,
    a: { caps: string[]; env: string[]; mounts: string[]; argv: string[] },
  ): OcreContainer | undefined {
    if (wantedId !== undefined && this.containers.has(wantedId)) {
      this.log(`<err> context: Container with ID '${wantedId}' already exists`);
      return undefined;
    }
    let id = wantedId;
    while (id === undefined || this.containers.has(id)) id = this.randomId();
    if (runtime !== undefined && runtime !== 'wamr/wasip1') {
      this.log(`<err> container: Runtime '${runtime}' not found`);
      return undefined;
    }
    const data = this.files.read(`${this.workdir}/images/${image}`);
    if (!data) {
      this.log(`<err> wamr: Failed to open file ${this.workdir}/images/${image}: -2`);
      this.log(`<err> context: Failed to create container ${id}: errno=2`);
      return undefined;
    }
    if (data.length < 8 || !data.subarray(0, 4).equals(WASM_MAGIC)) {
      this.log(`<err> wamr: Failed to load module: magic header not detected`);
      this.log(`<err> context: Failed to create container ${id}: errno=22`);
      return undefined;
    }
    const c: OcreContainer = {
      id,
      image,
      runtime,
      detached,
      capabilities: a.caps,
      env: a.env,
      mounts: a.mounts,
      argv: a.argv,
      status: 'CREATED',
      exitCode: undefined,
    };
    this.containers.set(id, c);
    return c;
  }

  private startContainer(c: OcreContainer): boolean {
    if (
      c.capabilities.some((k) => !['ocre:api', 'ocre:shared_heap', 'networking', 'filesystem'].includes(k))
    ) {
      this.log(`<err> wamr: Unknown capability`);
      c.status = 'ERROR';
      return false;
    }
    c.status = 'RUNNING';
    c.exitCode = undefined;
    return true;
  }

  private get(argv0: string, argv: string[], what: string, p: (s: string) => void): OcreContainer | number {
    if (argv.length !== 2) {
      p(`'${argv0} container ${what}' requires exactly one argument\n\n`);
      p(`Usage: ${argv0} container ${what} CONTAINER\n`);
      return -1;
    }
    const c = this.containers.get(argv[1]!);
    if (!c) {
      p(`Failed to get container '${argv[1]}'\n`);
      return -1;
    }
    return c;
  }

  private start(argv0: string, argv: string[], p: (s: string) => void): number {
    const c = this.get(argv0, argv, 'start', p);
    if (typeof c === 'number') return c;
    if (c.status !== 'CREATED' && c.status !== 'STOPPED') {
      p(`Container '${c.id}' is not ready to run\n`);
      return -1;
    }
    const ok = this.startContainer(c);
    p(`${c.id}\n`);
    return ok ? 0 : -1;
  }

  private kill(argv0: string, argv: string[], p: (s: string) => void): number {
    const c = this.get(argv0, argv, 'kill', p);
    if (typeof c === 'number') return c;
    if (c.status !== 'RUNNING') {
      p(`Container '${c.id}' is not running\n`);
      return -1;
    }
    // WAMR terminates the module; the exit status is not the program's own (value not verified on hardware).
    c.status = 'EXITED';
    c.exitCode = -1;
    p(`${c.id}\n`);
    return 0;
  }

  private wait(argv0: string, argv: string[], p: (s: string) => void): number | Promise<number> {
    const c = this.get(argv0, argv, 'wait', p);
    if (typeof c === 'number') return c;
    if (c.status === 'UNKNOWN' || c.status === 'CREATED') {
      p(`Container '${c.id}' has not started\n`);
      return -1;
    }
    const finish = () => {
      c.status = 'STOPPED';
      p(`${c.exitCode ?? 0}\n`);
      return 0;
    };
    if (c.status !== 'RUNNING') return finish();
    // ocre_container_wait() blocks the shell (and the SMP server behind it) until the program ends.
    return new Promise<number>((resolve) =>
      this.waiters.set(c.id, () => {
        this.waiters.delete(c.id);
        resolve(finish());
      }),
    );
  }

  private ps(argv0: string, argv: string[], p: (s: string) => void): number {
    const row = (c: OcreContainer) => p(`${c.id}\t${OCRE_STATUSES[STATUS_INDEX[c.status]]}\t${c.image}\n`);
    if (argv.length === 1) {
      p('ID\tSTATUS\tIMAGE\n');
      for (const c of this.containers.values()) row(c);
      return 0;
    }
    if (argv.length === 2) {
      const c = this.containers.get(argv[1]!);
      if (!c) {
        p(`Failed to get container '${argv[1]}'\n`);
        return -1;
      }
      p('ID\tSTATUS\tIMAGE\n');
      row(c);
      return 0;
    }
    p(`'${argv0} container ps' requires at most one argument\n\n`);
    p(`Usage: ${argv0} container ps [CONTAINER]\n\nList containers in Ocre context.\n`);
    return -1;
  }

  private rm(argv0: string, argv: string[], p: (s: string) => void): number {
    const c = this.get(argv0, argv, 'rm', p);
    if (typeof c === 'number') return c;
    if (c.status !== 'STOPPED' && c.status !== 'CREATED' && c.status !== 'ERROR') {
      p(`Container '${c.id}' is in use\n`);
      return -1;
    }
    this.containers.delete(c.id);
    return 0;
  }

  private image(argv0: string, argv: string[], p: (s: string) => void): number {
    const usage = () => {
      p(
        `Usage: ${argv0} image <COMMAND>\n\nCommands:\n  ls        List images\n  pull      Pull an image\n  rm        Remove an image\n`,
      );
      return -1;
    };
    if (argv.length < 2) return usage();
    const sub = argv.slice(1);
    switch (argv[1]) {
      case 'help':
        return usage();
      case 'ls':
        return this.imageLs(argv0, sub, p);
      case 'pull':
        return this.imagePull(argv0, sub, p);
      case 'rm':
        return this.imageRm(argv0, sub, p);
      default:
        p(`Invalid command: '${argv0} image ${argv[1]}'\n\n`);
        return usage();
    }
  }

  private imageLs(argv0: string, argv: string[], p: (s: string) => void): number {
    const dir = `${this.workdir}/images`;
    const line = (name: string) => {
      const data = this.files.read(`${dir}/${name}`);
      if (!data) {
        p(`Failed to stat image '${dir}/${name}'\n`);
        return false;
      }
      p(`${crypto.createHash('sha256').update(data).digest('hex')}\t${data.length}\t${name}\n`);
      return true;
    };
    if (argv.length === 1) {
      p('SHA-256\t\t\t\t\t\t\t\t\tSIZE\tNAME\n');
      for (const name of this.files.list(dir)) line(name);
      return 0;
    }
    if (argv.length === 2) {
      if (!isValidOcreName(argv[1]!)) {
        p(
          `Invalid characters in image ID '${argv[1]}'. Valid are [a-z0-9_-.] (lowercase alphanumeric) and cannot start with '.'\n`,
        );
        return -1;
      }
      p('SHA-256\t\t\t\t\t\t\t\t\tSIZE\tNAME\n');
      if (!line(argv[1]!)) p(`Failed to list image '${dir}/${argv[1]}'\n`);
      return 0;
    }
    p(`'${argv0} image ls' requires at most one argument\n\n`);
    p(`Usage: ${argv0} image ls [IMAGE]\n\nList images in local storage.\n`);
    return -1;
  }

  private imageRm(argv0: string, argv: string[], p: (s: string) => void): number {
    if (argv.length !== 2) {
      p(`'${argv0} image rm' requires exactly one argument\n\n`);
      p(`Usage: ${argv0} image rm <IMAGE>\n\nRemoves an image from local storage.\n`);
      return -1;
    }
    if (!isValidOcreName(argv[1]!)) {
      p(
        `Invalid characters in image ID '${argv[1]}'. Valid are [a-z0-9_-.] (lowercase alphanumeric) and cannot start with '.'\n`,
      );
      return -1;
    }
    // Like the device: no check that a container uses it, and a missing file is reported but not an error.
    if (!this.files.remove(`${this.workdir}/images/${argv[1]}`))
      p(`Failed to remove image '${this.workdir}/images/${argv[1]}'\n`);
    return 0;
  }

  private imagePull(argv0: string, argv: string[], p: (s: string) => void): number {
    if (argv.length < 2 || argv.length > 3) {
      p(`Usage: ${argv0} image pull <URL> [NAME]\n\nPulls an image from a URL.\n`);
      return -1;
    }
    // The simulated board has no network.
    p(`Failed to pull image from '${argv[1]}'\n`);
    return -1;
  }
}

/** POSIX getopt with "+" (stop at the first non-option); argv[0] is the command name. */
export function getopt(
  argv: string[],
  spec: string,
): { opts: { opt: string; arg?: string }[]; optind: number } | { error: string } {
  const opts: { opt: string; arg?: string }[] = [];
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      const at = spec.indexOf(ch);
      if (at < 0 || ch === ':') return { error: ch };
      if (spec[at + 1] === ':') {
        let arg = a.slice(j + 1);
        if (arg === '') {
          if (i + 1 >= argv.length) return { error: ch };
          arg = argv[++i]!;
        }
        opts.push({ opt: ch, arg });
        break;
      }
      opts.push({ opt: ch });
    }
  }
  return { opts, optind: i };
}
