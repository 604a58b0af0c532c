import { api } from '../../api.js';

/**
 * Moving bundle files between the console and the server through the contract (the desktop's IPC and
 * the web portal's HTTP alike): a picked file goes up in chunks, an exported file comes down in chunks.
 * Transport only; the server decides everything about the bundle.
 */

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 0x8000)));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Uploads a picked file; returns the upload id the server verifies and imports. */
export async function uploadFile(
  file: File,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const { uploadId, chunkBytes } = await api.bundle.uploadStart({ name: file.name, size: file.size });
  let offset = 0;
  onProgress(0, file.size);
  while (offset < file.size) {
    signal?.throwIfAborted();
    const chunk = new Uint8Array(await file.slice(offset, offset + chunkBytes).arrayBuffer());
    await api.bundle.uploadChunk({ uploadId, offset, data: toBase64(chunk) });
    offset += chunk.length;
    onProgress(offset, file.size);
  }
  await api.bundle.uploadFinish({ uploadId });
  return uploadId;
}

/** Downloads the file an export job wrote, and hands it to the browser as a download. */
export async function downloadExport(
  jobId: string,
  fileName: string,
  onProgress: (received: number, total: number) => void,
): Promise<void> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const r = await api.bundle.readExport({ jobId, offset, length: 4 * 1024 * 1024 });
    const bytes = fromBase64(r.data);
    parts.push(bytes);
    offset += bytes.length;
    onProgress(offset, r.size);
    if (r.eof || bytes.length === 0) break;
  }
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: 'application/x-tar' }));
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
