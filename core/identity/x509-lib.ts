/**
 * The one place that loads @peculiar/x509. Its dependency injection container (tsyringe) needs a
 * `Reflect.metadata` polyfill installed before the library module evaluates, so `reflect-metadata` is
 * imported first (ESM evaluates these imports in order). Everything else in core/identity imports the
 * library from here, never directly, so that the order cannot be broken by accident.
 *
 * We use @peculiar/x509 only to *build* certificates and CSRs and to read extensions node:crypto does not
 * expose (key usage bits, every URI SAN); signatures are checked with node:crypto.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

export { x509 };

/** Node's WebCrypto, passed explicitly to every @peculiar/x509 call (no global provider is registered). */
export const webCrypto: webcrypto.Crypto = webcrypto;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
