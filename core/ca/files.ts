import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  identityError,
  loadP256PrivateKey,
  parseCertificate,
  splitCertificatesPem,
} from '../../lib/identity/index.js';
import { siteCaFromPem, type SiteCa } from './site-ca.js';

/**
 * PEM files on disk. Keys are written with mode 0600, certificates with 0644, directories created 0700.
 * Every file is written to a temporary name and moved into place, so a crash never leaves half a PEM;
 * without `force` an existing file is never replaced (the final step is a hard link, which fails if the
 * name exists, instead of a rename).
 */

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

/** File names the Margo conformance tester (CTT) expects under `fixtures/miaf/real/`. */
export const CLIENT_SVID_FILES = {
  cert: 'client-svid-cert.pem',
  key: 'client-svid-key.pem',
  anchors: 'trust-bundle-ca.pem',
} as const;

interface PemFile {
  name: string;
  content: string;
  secret: boolean;
}

function writeFiles(dir: string, files: PemFile[], force: boolean): string[] {
  const existing = files.map((f) => path.join(dir, f.name)).filter((p) => fs.existsSync(p));
  if (existing.length > 0 && !force) {
    throw identityError(
      'identity/files-exist',
      `${existing.join(', ')} already exist; use force to replace them`,
      {
        data: { files: existing },
      },
    );
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const f of files) {
    const final = path.join(dir, f.name);
    const tmp = path.join(dir, `.${f.name}.${randomBytes(6).toString('hex')}.tmp`);
    const mode = f.secret ? 0o600 : 0o644;
    try {
      const fd = fs.openSync(tmp, 'wx', mode);
      try {
        fs.writeSync(fd, f.content);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.chmodSync(tmp, mode); // openSync's mode passes through the umask; make it exact
      if (force) {
        fs.renameSync(tmp, final);
      } else {
        fs.linkSync(tmp, final);
        fs.unlinkSync(tmp);
      }
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw identityError('identity/files-exist', `${final} already exists; use force to replace it`, {
          data: { files: [final] },
        });
      }
      throw err;
    }
    written.push(final);
  }
  return written;
}

/** Writes `ca.pem` and `ca-key.pem` (0600) into `dir`; refuses to replace an existing CA unless `force`. */
export function saveSiteCa(
  dir: string,
  ca: SiteCa,
  options: { force?: boolean } = {},
): { certFile: string; keyFile: string } {
  // Validate before touching the disk: bad input changes no state.
  siteCaFromPem(ca.certPem, ca.keyPem);
  const caExists = [CA_CERT_FILE, CA_KEY_FILE].some((f) => fs.existsSync(path.join(dir, f)));
  if (caExists && !options.force) {
    throw identityError('identity/ca-exists', `a site CA already exists in ${dir}; use force to replace it`, {
      data: { dir },
    });
  }
  const [keyFile, certFile] = writeFiles(
    dir,
    [
      { name: CA_KEY_FILE, content: ca.keyPem, secret: true },
      { name: CA_CERT_FILE, content: ca.certPem, secret: false },
    ],
    options.force ?? false,
  );
  return { certFile: certFile!, keyFile: keyFile! };
}

/** Reads and checks the CA written by saveSiteCa. */
export function loadSiteCa(dir: string): SiteCa {
  const certFile = path.join(dir, CA_CERT_FILE);
  const keyFile = path.join(dir, CA_KEY_FILE);
  const hasCert = fs.existsSync(certFile);
  const hasKey = fs.existsSync(keyFile);
  if (!hasCert && !hasKey) {
    throw identityError(
      'identity/ca-not-found',
      `no site CA in ${dir}; create one first (edgectl site ca init)`,
      {
        data: { dir },
      },
    );
  }
  if (!hasCert || !hasKey) {
    throw identityError(
      'identity/ca-not-found',
      `incomplete site CA in ${dir}: ${hasCert ? CA_KEY_FILE : CA_CERT_FILE} is missing`,
      { data: { dir } },
    );
  }
  return siteCaFromPem(fs.readFileSync(certFile, 'utf8'), fs.readFileSync(keyFile, 'utf8'));
}

/** Concatenates trust anchors into one PEM file body (what `edgectl site ca export` writes). */
export function anchorsToPem(anchorsPem: readonly string[]): string {
  const certs = anchorsPem.flatMap((p) => splitCertificatesPem(p));
  if (certs.length === 0) throw identityError('identity/invalid-certificate', 'no trust anchors to export');
  for (const c of certs) parseCertificate(c, 'trust anchor');
  return certs.join('');
}

/**
 * Writes an issued client SVID for a peer that cannot make its own CSR (an external conformance tester):
 * `client-svid-cert.pem` (leaf plus any intermediates), `client-svid-key.pem` (0600) and
 * `trust-bundle-ca.pem` (the anchors), the names the Margo CTT expects.
 */
export function writeClientSvidFiles(
  dir: string,
  svid: { certPem: string; keyPem: string; anchorsPem: readonly string[] },
  options: { force?: boolean } = {},
): { certFile: string; keyFile: string; anchorsFile: string } {
  parseCertificate(svid.certPem, 'SVID certificate');
  loadP256PrivateKey(svid.keyPem, 'SVID private key');
  const anchors = anchorsToPem(svid.anchorsPem);
  const [certFile, keyFile, anchorsFile] = writeFiles(
    dir,
    [
      { name: CLIENT_SVID_FILES.cert, content: svid.certPem, secret: false },
      { name: CLIENT_SVID_FILES.key, content: svid.keyPem, secret: true },
      { name: CLIENT_SVID_FILES.anchors, content: anchors, secret: false },
    ],
    options.force ?? false,
  );
  return { certFile: certFile!, keyFile: keyFile!, anchorsFile: anchorsFile! };
}
