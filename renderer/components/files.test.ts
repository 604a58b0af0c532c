import { describe, expect, it } from 'vitest';
import { readText } from './files.js';

describe('readText', () => {
  it('keeps the bytes of the file: a byte-order mark and non-ASCII text', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('name: Zähler\n')]);
    const text = await readText(new Blob([bytes]));
    expect(new TextEncoder().encode(text)).toEqual(bytes);
  });

  it('refuses a file that is not UTF-8, naming it', async () => {
    const latin1 = new File([new Uint8Array([0x5a, 0xe4, 0x0a])], 'margo.yaml');
    await expect(readText(latin1)).rejects.toThrow(
      'margo.yaml is not UTF-8 text (Margo descriptions and device model files are YAML or JSON in UTF-8)',
    );
  });
});
