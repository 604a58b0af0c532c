import { webcrypto } from 'node:crypto';

/** Node's WebCrypto, passed explicitly to every @peculiar/x509 call (no global provider is registered). */
export const webCrypto: webcrypto.Crypto = webcrypto;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
