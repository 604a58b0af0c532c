/**
 * The one place that loads @peculiar/x509. Its dependency injection container (tsyringe) needs a
 * `Reflect.metadata` polyfill installed before the library module evaluates, so `reflect-metadata` is
 * loaded first. Everything else imports the library through `loadX509()`, never directly, so that the
 * order cannot be broken by accident.
 *
 * The library (about 0.8 MB of code and 19 MiB resident once loaded) is loaded on first use: building a
 * certificate or a CSR. A server starting on an existing home, and an edge agent that is already enrolled,
 * never load it (ADR 0542: evaluating it cost ~30 ms of every start).
 *
 * We use @peculiar/x509 only to *build* certificates and CSRs and to read CSRs; reading extensions of
 * certificates is lib/identity's der.ts/cert-info.ts and signatures are checked with node:crypto.
 */
import type * as X509Module from '@peculiar/x509';

export type X509Lib = typeof X509Module;
// The library's classes as types, for signatures that name them.
export type { X509Module as x509 };

let loading: Promise<X509Lib> | undefined;

/** @peculiar/x509, loaded once (with its polyfill first). */
export function loadX509(): Promise<X509Lib> {
  loading ??= (async () => {
    await import('reflect-metadata');
    return import('@peculiar/x509');
  })();
  return loading;
}
