import { fetchBlobBytes } from './fetch-blob.js';
import {
  Annotation,
  MediaType,
  isIndex,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from './media-types.js';
import { fetchManifest } from './resolve.js';
import { formatReference, type Reference } from './reference.js';
import type { Session } from './session.js';

export type ArtifactKind = 'wasm' | 'compose' | 'margo-app' | 'image' | 'index' | 'artifact';

export interface LayerSummary {
  mediaType: string;
  digest: string;
  size: number;
  title?: string;
  annotations?: Record<string, string>;
}

export interface InspectResult {
  reference: string;
  digest: string;
  mediaType: string;
  kind: ArtifactKind;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Sum of config and layer sizes (for an index: of the listed manifests). */
  totalSize: number;
  config?: { mediaType: string; digest: string; size: number; content?: unknown };
  layers: LayerSummary[];
  /** For an index: its entries. */
  manifests?: {
    mediaType: string;
    digest: string;
    size: number;
    platform?: Platform;
    artifactType?: string;
  }[];
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/** Classifies a manifest by its artifactType, config and layer media types. */
export function artifactKind(m: ImageManifest): ArtifactKind {
  if (m.artifactType === MediaType.composeArtifact) return 'compose';
  if (m.artifactType === MediaType.margoApp) return 'margo-app';
  if (
    m.config.mediaType === MediaType.wasmConfig ||
    m.layers.some((l) => l.mediaType === MediaType.wasmLayer)
  )
    return 'wasm';
  if (m.config.mediaType === MediaType.ociConfig || m.config.mediaType === MediaType.dockerConfig)
    return 'image';
  return 'artifact';
}

/** The manifest, its config (parsed when it is small JSON) and a summary of its layers, without pulling layers. */
export async function inspect(
  session: Session,
  ref: Reference,
  options: { signal?: AbortSignal } = {},
): Promise<InspectResult> {
  const fetched = await fetchManifest(session, ref, options);
  const base = { reference: formatReference(ref), digest: fetched.digest, mediaType: fetched.mediaType };
  const m = fetched.manifest;
  if (isIndex(m)) {
    return {
      ...base,
      kind: 'index',
      ...(m.artifactType ? { artifactType: m.artifactType } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      totalSize: m.manifests.reduce((n, d) => n + d.size, 0),
      layers: [],
      manifests: m.manifests.map((d) => ({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        ...(d.platform ? { platform: d.platform } : {}),
        ...(d.artifactType ? { artifactType: d.artifactType } : {}),
      })),
    };
  }
  let content: unknown;
  const c = m.config;
  if (c.mediaType !== MediaType.ociEmpty && /json$/.test(c.mediaType) && c.size <= MAX_CONFIG_BYTES) {
    const bytes = await fetchBlobBytes(session, { ...ref, digest: undefined }, c, {
      maxBytes: MAX_CONFIG_BYTES,
      signal: options.signal,
    });
    try {
      content = JSON.parse(bytes.toString('utf8'));
    } catch {
      content = undefined;
    }
  }
  return {
    ...base,
    kind: artifactKind(m),
    ...(m.artifactType ? { artifactType: m.artifactType } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
    totalSize: c.size + m.layers.reduce((n, l) => n + l.size, 0),
    config: {
      mediaType: c.mediaType,
      digest: c.digest,
      size: c.size,
      ...(content === undefined ? {} : { content }),
    },
    layers: m.layers.map(summarise),
  };
}

function summarise(l: Descriptor): LayerSummary {
  const title = l.annotations?.[Annotation.title];
  return {
    mediaType: l.mediaType,
    digest: l.digest,
    size: l.size,
    ...(title ? { title } : {}),
    ...(l.annotations ? { annotations: l.annotations } : {}),
  };
}
