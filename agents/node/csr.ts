import { createKeyAndCsrLite, isSimpleCommonName } from '../../lib/identity/index.js';

/**
 * The node's new key and CSR (enrollment and SVID renewal), with the node name as common name. Made
 * with node:crypto so a long-running agent never loads @peculiar/x509 (about 19 MiB resident); a
 * name that would need DN escaping goes through the general builder, loaded only then.
 */
export async function nodeKeyAndCsr(nodeName: string): Promise<{ keyPem: string; csrPem: string }> {
  if (isSimpleCommonName(nodeName)) return createKeyAndCsrLite({ commonName: nodeName });
  const { createKeyAndCsr } = await import('../../lib/x509/index.js');
  return createKeyAndCsr({ subject: `CN=${nodeName}` });
}
