/**
 * The one place that loads @peculiar/x509. Its dependency injection container (tsyringe) needs a
 * `Reflect.metadata` polyfill installed before the library module evaluates, so `reflect-metadata` is
 * imported first (ESM evaluates these imports in order). Everything else in lib/identity imports the
 * library from here, never directly, so that the order cannot be broken by accident. Code that only
 * verifies (pem.ts, cert-info.ts, verify-peer.ts) must not import this module: the agent loads it lazily,
 * for enrollment only.
 *
 * We use @peculiar/x509 only to *build* certificates and CSRs; reading extensions is der.ts/cert-info.ts
 * and signatures are checked with node:crypto.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
