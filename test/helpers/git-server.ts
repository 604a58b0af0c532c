import { spawn, execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * A real git smart-HTTP server for tests: Debian's `git http-backend` (CGI) behind a small Node
 * wrapper on 127.0.0.1. Serves clone, fetch and push (receive-pack enabled) to isomorphic-git and the
 * git CLI alike. Optional Basic auth; `requests` records each request line (never the credentials).
 */
export interface GitServer {
  url: string;
  root: string;
  requests: string[];
  /** Creates a bare repository `<name>.git` (optionally from a folder of files, committed on `branch`). */
  createRepo(name: string, files?: Record<string, string | Buffer>, options?: { branch?: string }): string;
  /**
   * Runs the git CLI (asynchronously: the server answers in this same process) with a test identity,
   * e.g. to clone, commit, tag, push or force-push a rewritten history.
   */
  git(args: string[], cwd?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startGitServer(
  options: {
    auth?: { username: string; password: string };
    /** Listen here instead of 127.0.0.1 (e.g. the centre's side of a test's veth). */
    host?: string;
  } = {},
): Promise<GitServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-gitsrv-'));
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (options.auth) {
      const want =
        'Basic ' + Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64');
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
        res.end('authentication required');
        return;
      }
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: req.headers['content-length'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: options.auth?.username ?? 'anonymous',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const sep = head.indexOf('\r\n\r\n');
      if (sep < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, sep).toString().split('\r\n')) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
        else res.setHeader(k, v);
      }
      res.statusCode = status;
      res.write(head.subarray(sep + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => {
      res.statusCode = 500;
      res.end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(0, host, r));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  const gitEnv = {
    ...process.env,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@t',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@t',
  };
  const run = (args: string[], cwd: string) =>
    execFileSync('git', args, { cwd, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return {
    url,
    root,
    requests,
    createRepo(name, files, opts = {}) {
      const bare = path.join(root, `${name}.git`);
      const branch = opts.branch ?? 'main';
      run(['init', '--bare', '-q', '-b', branch, bare], root);
      run(['config', 'http.receivepack', 'true'], bare);
      if (files) {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-gitwork-'));
        run(['init', '-q', '-b', branch], work);
        for (const [rel, content] of Object.entries(files)) {
          fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
          fs.writeFileSync(path.join(work, rel), content);
        }
        run(['add', '-A'], work);
        run(['commit', '-q', '-m', 'initial'], work);
        run(['push', '-q', bare, `${branch}:${branch}`], work);
        fs.rmSync(work, { recursive: true, force: true });
      }
      return `${url}/${name}.git`;
    },
    async git(args, cwd = root) {
      const { stdout } = await promisify(execFile)('git', args, { cwd, env: gitEnv });
      return stdout;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
