import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';

/**
 * Podman for tests (shared/notes/environment.md): podman 4.3 runs containers on these machines only
 * with a CONTAINERS_CONF that sets ulimits, runc, cgroupfs and the file events logger. `createPodmanEnv()`
 * writes that file into a fresh temp dir and returns the environment to run podman (and podman-compose,
 * and our adapters) with; `buildBusyboxImage()` makes a tiny image from Debian's busybox-static, since
 * nothing can be pulled from the internet. Images and containers live in the machine's shared podman
 * storage: give them unique names and remove them in `afterAll` (`cleanup()` does it for the images it
 * built and the containers carrying its `testLabel`).
 */

export const CONTAINERS_CONF = `[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

export const BUSYBOX = '/bin/busybox';

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PodmanTestEnv {
  /** The temp dir holding containers.conf (and image build files). */
  dir: string;
  confFile: string;
  /** `process.env` plus CONTAINERS_CONF: give it to every podman / podman-compose child and adapter. */
  env: NodeJS.ProcessEnv;
  /** A label `key=value` unique to this env: put it on test containers so cleanup() finds them. */
  testLabel: string;
  /** Runs podman with this env. Never throws on a non-zero exit (see `podmanOk`). */
  podman(args: string[], input?: Buffer): Promise<PodmanResult>;
  /** Runs podman and throws with its stderr when it fails. */
  podmanOk(args: string[], input?: Buffer): Promise<string>;
  /** Removes containers with `testLabel`, images built here, and the temp dir. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Whether podman, runc and busybox-static are installed (tests skip with a reason otherwise). */
export function podmanUsable(): { ok: boolean; reason?: string } {
  for (const [bin, pkg] of [
    ['podman', 'podman'],
    ['runc', 'runc'],
  ] as const) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
      return { ok: false, reason: `${bin} is not installed (apt-get install ${pkg})` };
  }
  if (!fs.existsSync(BUSYBOX))
    return { ok: false, reason: `${BUSYBOX} is missing (apt-get install busybox-static)` };
  return { ok: true };
}

export function createPodmanEnv(prefix = 'outpost-podman-'): PodmanTestEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const confFile = path.join(dir, 'containers.conf');
  fs.writeFileSync(confFile, CONTAINERS_CONF);
  const env = { ...process.env, CONTAINERS_CONF: confFile };
  const testLabel = `outpost.test=${path.basename(dir)}`;
  const images = new Set<string>();
  const podman = (args: string[], input?: Buffer) => runPodman(args, env, input);
  const podmanOk = async (args: string[], input?: Buffer) => {
    const r = await podman(args, input);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  const self: PodmanTestEnv & { images: Set<string> } = {
    dir,
    confFile,
    env,
    testLabel,
    images,
    podman,
    podmanOk,
    async cleanup() {
      if (!fs.existsSync(dir)) return;
      const ids = (await podman(['ps', '-aq', '--filter', `label=${testLabel}`])).stdout
        .split('\n')
        .filter(Boolean);
      if (ids.length) await podman(['rm', '-f', '-t', '0', ...ids]);
      for (const img of images) await podman(['rmi', '-f', img]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

export interface BusyboxImageOptions {
  /** Repository name (default `localhost/outpost-test/busybox`); the tag is random. */
  repository?: string;
  /** Extra files in the image: path → content. */
  files?: Record<string, string | Buffer>;
  /** The image's CMD (default `["/bin/sh"]`). */
  cmd?: string[];
}

/**
 * Builds a tiny image (busybox-static as /bin/busybox, applet links in /bin) with `podman import` of a
 * rootfs tar (every applet linked in /bin), in well under a second; returns its reference. The image is removed by `env.cleanup()`.
 */
export async function buildBusyboxImage(env: PodmanTestEnv, opts: BusyboxImageOptions = {}): Promise<string> {
  const ref = `${opts.repository ?? 'localhost/outpost-test/busybox'}:${randomBytes(5).toString('hex')}`;
  const tarFile = path.join(env.dir, `rootfs-${randomBytes(4).toString('hex')}.tar`);
  fs.writeFileSync(tarFile, await rootfsTar(opts.files ?? {}));
  const cmd = JSON.stringify(opts.cmd ?? ['/bin/sh']);
  await env.podmanOk(['import', '--change', `CMD ${cmd}`, tarFile, ref]);
  fs.rmSync(tarFile, { force: true });
  (env as PodmanTestEnv & { images: Set<string> }).images.add(ref);
  return ref;
}

/** Every applet busybox-static offers, linked into /bin. */
function applets(): string[] {
  const r = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' });
  return r.status === 0
    ? r.stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox')
    : ['sh'];
}

async function rootfsTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const add = (header: Partial<tar.Header> & { name: string }, body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  for (const d of ['bin', 'tmp', 'etc', 'proc', 'sys', 'dev']) {
    await add({ name: `${d}/`, type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755 });
  }
  await add({ name: 'bin/busybox', mode: 0o755 }, fs.readFileSync(BUSYBOX));
  for (const a of applets()) await add({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' });
  for (const [name, content] of Object.entries(files)) {
    await add({ name: name.replace(/^\/+/, ''), mode: 0o755 }, Buffer.from(content));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function runPodman(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<PodmanResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', args, { env, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (input) child.stdin!.end(input);
  });
}
