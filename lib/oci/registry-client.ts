import { systemClock, type Clock } from '../base/index.js';
import type { Logger } from '../log/index.js';
import { createAuthenticator, type CredentialsProvider } from './auth.js';
import { fetchBlob, fetchBlobBytes, type FetchBlobOptions, type FetchedBlob } from './fetch-blob.js';
import { inspect, type InspectResult } from './inspect.js';
import type { Descriptor } from './media-types.js';
import { push, type PushOptions, type PushResult } from './push.js';
import { parseReference, type Reference } from './reference.js';
import {
  fetchManifest,
  resolve,
  type FetchedManifest,
  type ResolveOptions,
  type Resolved,
} from './resolve.js';
import { createSession } from './session.js';
import { listTags } from './tags.js';
import { createTransport, type FetchLike } from './transport.js';

export interface RegistryClientOptions {
  /**
   * Use plain HTTP for these registries (`true`: all). Only loopback hosts are allowed unless
   * `forcePlainHttp` is set; otherwise requests fail with `oci/plain-http-refused`.
   */
  plainHttp?: boolean | ((host: string) => boolean);
  forcePlainHttp?: boolean;
  /** PEM of a private CA to trust (in addition to the system roots). */
  ca?: string;
  /** A TLS client certificate and key to present (give it only to a client of registries that should see it). */
  clientCertificate?: { certPem: string; keyPem: string };
  /** Credentials per registry host (`host:port`); `undefined` means anonymous. Never logged. */
  credentials?: CredentialsProvider;
  userAgent?: string;
  /** Connect, response-header and body-idle timeout. Default 30 s. */
  timeoutMs?: number;
  /** Replaces the HTTP stack (a fetch-compatible function). */
  fetch?: FetchLike;
  /** undici (default) or node:http/https (see TransportOptions.http). */
  http?: 'undici' | 'node';
  logger?: Logger;
  clock?: Clock;
}

/** A reference as a string (`oci://host/repo:tag`, `host/repo@sha256:…`) or parsed. */
export type RefLike = string | Reference;

export interface RegistryClient {
  /** Manifest for a tag or digest; an index is resolved to one platform's manifest. */
  resolve(ref: RefLike, options?: ResolveOptions): Promise<Resolved>;
  /** The manifest or index as stored, without descending into an index. */
  fetchManifest(ref: RefLike, options?: { signal?: AbortSignal }): Promise<FetchedManifest>;
  /** Streams a blob to a file with digest verification and resume (see fetch-blob.ts). */
  fetchBlob(
    ref: RefLike,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    options: FetchBlobOptions,
  ): Promise<FetchedBlob>;
  /** A small blob in memory, verified. */
  fetchBlobBytes(
    ref: RefLike,
    descriptor: Pick<Descriptor, 'digest' | 'size' | 'data'>,
    options?: { maxBytes?: number; signal?: AbortSignal },
  ): Promise<Buffer>;
  push(options: Omit<PushOptions, 'ref'> & { ref: RefLike }): Promise<PushResult>;
  listTags(repo: RefLike, options?: { signal?: AbortSignal; pageSize?: number }): Promise<string[]>;
  inspect(ref: RefLike, options?: { signal?: AbortSignal }): Promise<InspectResult>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

/**
 * An OCI Distribution client: anonymous, Basic or Bearer-token auth, HTTPS (optionally with a private
 * CA) or plain HTTP on loopback, every digest verified. Errors are OutpostErrors with `oci/*` codes,
 * `network-error`, `timeout` or `cancelled`, and a one-line message naming the reference.
 */
export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const transport = createTransport({
    plainHttp: options.plainHttp,
    forcePlainHttp: options.forcePlainHttp,
    ca: options.ca,
    clientCertificate: options.clientCertificate,
    timeoutMs: options.timeoutMs,
    userAgent: options.userAgent,
    fetch: options.fetch,
    http: options.http,
  });
  const auth = createAuthenticator({
    transport,
    credentials: options.credentials,
    clock: options.clock ?? systemClock,
  });
  const session = createSession({ transport, auth, logger: options.logger });
  const toRef = (r: RefLike): Reference => (typeof r === 'string' ? parseReference(r) : r);

  return {
    resolve: (ref, o) => resolve(session, toRef(ref), o),
    fetchManifest: (ref, o) => fetchManifest(session, toRef(ref), o),
    fetchBlob: (ref, d, o) => fetchBlob(session, toRef(ref), d, o),
    fetchBlobBytes: (ref, d, o) => fetchBlobBytes(session, toRef(ref), d, o),
    push: (o) => push(session, { ...o, ref: toRef(o.ref) }),
    listTags: (repo, o) => listTags(session, toRef(repo), o),
    inspect: (ref, o) => inspect(session, toRef(ref), o),
    close: () => transport.close(),
  };
}
