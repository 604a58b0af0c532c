/** What the `edgectl oci` commands share (one file per command beside it): the registry flags, credentials, a client, Ctrl-C. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Credentials, Reference, RegistryClient } from '../../../lib/oci/index.js';
import { createPaths, resolveHome } from '../../../lib/base/index.js';
import { registryHostOf } from '../../../lib/registry/index.js';

export interface RegistryFlags {
  plainHttp?: boolean;
  forcePlainHttp?: boolean;
  ca?: string;
  username?: string;
  passwordStdin?: boolean;
}

/** The options every `edgectl oci` command takes to reach a registry. */
export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--plain-http', 'talk plain HTTP (no TLS) to a registry on loopback (127.0.0.1, ::1, localhost)')
    .option(
      '--force-plain-http',
      'with --plain-http, also allow a registry that is not on loopback (unencrypted!)',
    )
    .option('--ca <file>', 'PEM file of a private CA that signed the registry certificate')
    .option('-u, --username <name>', 'registry user name (default: $EDGE_OCI_USERNAME)')
    .option(
      '--password-stdin',
      'read the registry password from standard input (default: $EDGE_OCI_PASSWORD)',
    );
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new OutpostError(
      'invalid-input',
      '--password-stdin reads the password from standard input: pipe it in',
    );
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Credentials from the flags or EDGE_OCI_USERNAME / EDGE_OCI_PASSWORD; never printed. */
export async function credentialsFrom(
  flags: RegistryFlags,
  env = process.env,
): Promise<Credentials | undefined> {
  const username = flags.username ?? env.EDGE_OCI_USERNAME;
  const password = flags.passwordStdin ? await readStdin() : env.EDGE_OCI_PASSWORD;
  if (flags.passwordStdin && !username)
    throw new OutpostError(
      'invalid-input',
      '--password-stdin needs a user name (--username or EDGE_OCI_USERNAME)',
    );
  if (!username) return undefined;
  if (password === undefined || password === '')
    throw new OutpostError(
      'invalid-input',
      `a password is needed for user "${username}": pass --password-stdin or set EDGE_OCI_PASSWORD`,
    );
  return { username, password };
}

/** The registry name that stands for the site registry of the server running for --home. */
export const SITE_ALIAS = 'site';

interface ServerInfo {
  token?: string;
  pid?: number;
  registryUrl?: string;
  registryLoopbackUrl?: string;
}

function readServerInfo(home: string | undefined): {
  info: ServerInfo | undefined;
  home: string;
  file: string;
} {
  const paths = createPaths(resolveHome(home));
  try {
    return {
      info: JSON.parse(fs.readFileSync(paths.serverJson, 'utf8')) as ServerInfo,
      home: paths.home,
      file: paths.serverJson,
    };
  } catch {
    return { info: undefined, home: paths.home, file: paths.serverJson };
  }
}

/**
 * Parses an `edgectl oci` reference. `site/<repository>:<tag>` (also `oci://site/...`) names the site
 * registry of the server running for `home`: `site` becomes its loopback listener (`127.0.0.1:7501`), so a
 * walkthrough needs neither the port nor flags (ADR 0014). `site` alone is no registry host (a host has a
 * dot or a port, or is localhost), so the alias never hides a real registry.
 */
export async function parseTarget(refText: string, home: string | undefined): Promise<Reference> {
  const { parseReference } = await import('../../../lib/oci/index.js');
  const alias = new RegExp(`^(oci://)?${SITE_ALIAS}/`, 'i').exec(refText);
  if (!alias) return parseReference(refText);
  const { info, home: dir } = readServerInfo(home);
  if (!info)
    throw new OutpostError(
      'server-not-running',
      `${refText}: "${SITE_ALIAS}/" names the site registry of the server running for ${dir}, and none runs there (start one with "edgectl server", pass its --home DIR or set EDGE_HOME=DIR)`,
    );
  const host = info.registryLoopbackUrl ? registryHostOf(info.registryLoopbackUrl) : undefined;
  if (!host)
    throw new OutpostError(
      'invalid-input',
      `${refText}: the server running for ${dir} serves no site registry (its role has no LO, or registry.enabled is false)`,
    );
  return parseReference(`${host}/${refText.slice(alias[0].length)}`);
}

/**
 * The site registry of the server running for `home` (its server.json), when `ref` names it: plain HTTP for
 * its loopback listener, the site CA for its HTTPS one, and the server's token as the password, so
 * `edgectl oci push f.wasm 127.0.0.1:7501/x/y:1` just works on the LO's machine. Flags given win.
 */
export function siteRegistryDefaults(
  ref: Reference,
  home: string | undefined,
): { plainHttp: boolean; caFile?: string; credentials: Credentials } | undefined {
  const paths = createPaths(resolveHome(home));
  const { info } = readServerInfo(home);
  if (!info?.token) return undefined;
  const host = ref.registry.toLowerCase();
  const credentials = { username: 'outpost', password: info.token };
  if (info.registryLoopbackUrl && registryHostOf(info.registryLoopbackUrl) === host)
    return { plainHttp: true, credentials };
  if (info.registryUrl && registryHostOf(info.registryUrl) === host)
    return { plainHttp: false, caFile: path.join(paths.pkiDir, 'site-ca', 'ca.pem'), credentials };
  return undefined;
}

/**
 * A client for one reference: plain HTTP and credentials apply to that reference's registry only. With
 * `home`, a reference to that home's site registry gets its defaults (siteRegistryDefaults).
 */
export async function clientFor(
  ref: Reference,
  flagsGiven: RegistryFlags,
  home?: string,
): Promise<RegistryClient> {
  let flags = flagsGiven;
  let siteCredentials: Credentials | undefined;
  const site = siteRegistryDefaults(ref, home);
  if (site) {
    flags = {
      ...flags,
      plainHttp: flags.plainHttp ?? site.plainHttp,
      ...(flags.ca === undefined && site.caFile ? { ca: site.caFile } : {}),
    };
    siteCredentials = site.credentials;
  }
  if (flags.forcePlainHttp && !flags.plainHttp)
    throw new OutpostError('invalid-input', '--force-plain-http only makes sense with --plain-http');
  let ca: string | undefined;
  if (flags.ca) {
    try {
      ca = fs.readFileSync(flags.ca, 'utf8');
    } catch (err) {
      throw new OutpostError(
        'invalid-input',
        `cannot read the CA file ${flags.ca}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw new OutpostError('invalid-input', `${flags.ca} holds no PEM certificate`);
  }
  const creds = (await credentialsFrom(flags)) ?? siteCredentials;
  // Loaded on use, so other edgectl commands do not pay for undici and friends at start-up.
  const { createRegistryClient } = await import('../../../lib/oci/index.js');
  return createRegistryClient({
    plainHttp: (host) => Boolean(flags.plainHttp) && host === ref.registry,
    forcePlainHttp: Boolean(flags.forcePlainHttp),
    ...(ca ? { ca } : {}),
    credentials: (host) => (host === ref.registry ? creds : undefined),
    userAgent: 'edgectl',
  });
}

/** Aborts on Ctrl-C while `fn` runs; the handler is removed afterwards. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.on('SIGINT', onSigint);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
