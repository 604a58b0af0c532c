/** Reading files the user picked (browser File API), for uploads through the contract. */

/**
 * The file's text, byte for byte (a byte-order mark is kept: the server stores the exact original).
 * `Blob.text()` would replace bytes that are not UTF-8 and drop the mark, so the server would store
 * other bytes than the file holds.
 */
export async function readText(
  file: Blob,
  name = file instanceof File ? file.name : 'the file',
): Promise<string> {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(await file.arrayBuffer());
  } catch {
    throw new Error(
      `${name} is not UTF-8 text (Margo descriptions and device model files are YAML or JSON in UTF-8)`,
    );
  }
}

/** Base64 of a file's bytes (resources travel base64-encoded in an upload). */
export async function readBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(s);
}

/** A resource picked beside the main file, and the relative path the main file names it by. */
export interface PickedResource {
  file: File;
  path: string;
}

export async function resourcesOf(picked: PickedResource[]): Promise<Record<string, string> | undefined> {
  if (picked.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const r of picked) out[r.path.trim() || r.file.name] = await readBase64(r.file);
  return out;
}
