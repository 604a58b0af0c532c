/** OCI and Docker media types, the artifact types Outpost publishes and pulls, and the manifest shapes. */

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  /** WASM module (CNCF wasm OCI artifact layout): config and the single layer. */
  wasmConfig: 'application/vnd.wasm.config.v0+json',
  wasmLayer: 'application/wasm',
  /** The older name of the WASM layer (wasm-to-oci). */
  wasmLayerLegacy: 'application/vnd.wasm.content.layer.v1+wasm',
  /** Margo compose archive (SUP "compose-oci"). */
  composeArtifact: 'application/vnd.org.margo.component.compose+json',
  composeLayer: 'application/vnd.org.margo.component.compose.tar+gzip',
  /** Helm chart (Helm's OCI layout): config and the chart layer. */
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
  helmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  /** Image layers, and the generic gzip tarball types some tools give archives and charts. */
  ociLayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerLayerTarGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  tarGzip: 'application/tar+gzip',
  xTarGzip: 'application/x-tar+gzip',
  gzip: 'application/gzip',
  xGzip: 'application/x-gzip',
  /** Margo application package. */
  margoApp: 'application/vnd.margo.app.v1+json',
  margoAppDescription: 'application/vnd.margo.app.description.v1+yaml',
  octetStream: 'application/octet-stream',
} as const;

export const Annotation = {
  title: 'org.opencontainers.image.title',
  created: 'org.opencontainers.image.created',
  /** Margo: which ApplicationDescription field a resource layer belongs to (dotted path). */
  margoResource: 'org.margo.app.resource',
} as const;

/** The OCI 1.1 empty descriptor (`{}`), used as config when an artifact has none. */
export const EMPTY_CONFIG = {
  mediaType: MediaType.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  urls?: string[];
  platform?: Platform;
  /** Base64 embedded content (OCI 1.1). */
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type AnyManifest = ImageManifest | ImageIndex;

export function isIndex(m: AnyManifest): m is ImageIndex {
  return Array.isArray((m as ImageIndex).manifests);
}

/** WASM module config (`application/vnd.wasm.config.v0+json`). */
export interface WasmConfig {
  created?: string;
  author?: string;
  architecture: 'wasm';
  os: string;
  layerDigests: string[];
  component?: unknown;
}
