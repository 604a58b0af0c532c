/**
 * Normalised forms of the Margo resources (the Margo specification), as the rest of the
 * project uses them. Parsers accept every shape the README lists (top-level `id` or `metadata.id`,
 * `deviceConstraints` or `requiredResources`, envelopes present or absent) and produce these.
 * Writers always emit the rc.3 shapes.
 *
 * This file is types only (no runtime code), so the contract and the renderer may import it.
 */

export type DeploymentType = 'helm' | 'compose' | 'custom';
export type CpuArchitecture = 'amd64' | 'arm64' | 'arm' | 'riscv64' | 'other';
export type PeripheralType = 'gpu' | 'display' | 'camera' | 'microphone' | 'speaker' | 'other';
export type InterfaceType =
  'ethernet' | 'wifi' | 'cellular' | 'bluetooth' | 'usb' | 'canbus' | 'rs232' | 'other';

/** Our vendor extension key (docs/architecture.md): `x-outpost-extensions: { runtime: wasm | ocre, ... }`. */
export const OUTPOST_EXTENSION_KEY = 'x-outpost-extensions';
/** Runtimes our agent offers beyond Margo's own `oci`: carried in `x-outpost-extensions.runtime`. */
export type OutpostRuntime = 'wasm' | 'ocre';

/** `x-<name>-extensions` members, kept verbatim. */
export type Extensions = Record<string, unknown>;

export interface ComponentProperties {
  /** `oci://...` (absent only in legacy descriptions that used `packageLocation`). */
  repository?: string;
  /** SemVer 2.0 without leading `v`, build metadata written with `_` (as the OCI tag). */
  revision?: string;
  /** Default true. */
  wait?: boolean;
  /** `^\d+m\d+s$`, e.g. `8m30s`. */
  timeout?: string;
  /** Legacy compose fields (pre rc.3), kept for display only. */
  packageLocation?: string;
  keyLocation?: string;
}

export interface Component {
  name: string;
  properties: ComponentProperties;
  extensions?: Extensions;
}

export type MatchOperator =
  'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt' | 'ContainsAll' | 'ContainsAny';

export interface MatchExpression {
  /** Property selectors: an RFC 6901 JSON pointer relative to capabilities `properties`. Label selectors: the exact label name. */
  key: string;
  operator: MatchOperator;
  values?: (string | number | boolean)[];
  /** For ContainsAll / ContainsAny over arrays of objects: pointers relative to each element. */
  itemSelector?: { matchExpressions: MatchExpression[] };
}

export interface Selector {
  matchExpressions: MatchExpression[];
}

export interface EligibilityRule {
  propertySelector?: Selector;
  labelSelector?: Selector;
}

export interface CapacityRequirements {
  cpu?: { cores: number; architectures?: CpuArchitecture[] };
  /** Binary-unit quantity as written, e.g. `1024Mi` (see parseQuantity in lib/margo). */
  memory?: string;
  storage?: string;
}

/**
 * Device constraints in the rc.3 form. A legacy `requiredResources` block is converted into
 * `capacityRequirements` plus `requiredPeripherals` / `requiredInterfaces`.
 */
export interface DeviceConstraints {
  capacityRequirements?: CapacityRequirements;
  eligibilityRules?: EligibilityRule[];
  /** From legacy `requiredResources.peripherals`: each must be matched by a device peripheral. */
  requiredPeripherals?: { type: PeripheralType; manufacturer?: string; model?: string }[];
  /** From legacy `requiredResources.interfaces`. */
  requiredInterfaces?: { type: InterfaceType }[];
}

export interface DeploymentProfile {
  type: DeploymentType;
  id: string;
  description?: string;
  components: Component[];
  deviceConstraints?: DeviceConstraints;
  /** Profile-level `x-...-extensions` (copied unchanged into deployments). */
  extensions?: Extensions;
}

export type ParameterValue = string | number | boolean | string[] | number[] | boolean[];

export interface ParameterTarget {
  /** Helm: dot path in values.yaml. Compose (and our wasm runtime): environment variable name. */
  pointer: string;
  components: string[];
}

export interface Parameter {
  value?: ParameterValue;
  targets: ParameterTarget[];
}

export type SchemaDataType =
  | 'string'
  | 'integer'
  | 'double'
  | 'boolean'
  | 'array[string]'
  | 'array[integer]'
  | 'array[double]'
  | 'array[boolean]';

export interface SchemaRule {
  name: string;
  dataType: SchemaDataType;
  allowEmpty?: boolean;
  minLength?: number;
  maxLength?: number;
  regexMatch?: string;
  minValue?: number;
  maxValue?: number;
  minPrecision?: number;
  maxPrecision?: number;
  multiselect?: boolean;
  options?: (string | number | boolean)[];
}

export interface Setting {
  parameter: string;
  name: string;
  description?: string;
  immutable?: boolean;
  /** Name of a SchemaRule. */
  schema: string;
}

export interface Configuration {
  sections: { name: string; settings: Setting[] }[];
  schema: SchemaRule[];
}

export interface CatalogInfo {
  application?: {
    descriptionFile?: string;
    icon?: string;
    licenseFile?: string;
    releaseNotes?: string;
    site?: string;
    tagline?: string;
    tags?: string[];
  };
  author?: { name?: string; email?: string }[];
  organization: { name: string; site?: string }[];
}

export interface ApplicationDescription {
  /** Envelope as written (absent in the newest shape). */
  apiVersion?: string;
  kind?: string;
  id: string;
  metadata: {
    name: string;
    description?: string;
    version: string;
    catalog: CatalogInfo;
  };
  deploymentProfiles: DeploymentProfile[];
  parameters: Record<string, Parameter>;
  configuration?: Configuration;
  /** Root-level extensions: for the WFM only, never propagated to devices. */
  extensions?: Extensions;
}

/** The rc.3 ApplicationDeployment (one per node), as rendered by the CO and served to the node. */
export interface ApplicationDeployment {
  id: string;
  metadata: {
    name: string;
    namespace: string;
    /** `gw` or `gw/child`; `gw/*` lets a gateway choose. `''` when an older YAML has none (ADR 0105). */
    deviceId: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    applicationId: string;
    deploymentProfile: {
      type: DeploymentType;
      components: Component[];
      deviceConstraints?: DeviceConstraints;
      extensions?: Extensions;
    };
    parameters?: Record<string, { value: ParameterValue; targets: ParameterTarget[] }>;
    extensions?: Extensions;
  };
}

export interface DeviceCapabilities {
  properties: {
    id: string;
    vendor: string;
    modelNumber: string;
    serialNumber: string;
    /** rc.3 `cpus` (rc.2 `cpu` is converted). */
    cpus?: { cores: number; architecture?: CpuArchitecture }[];
    memory?: string;
    storage?: string;
    peripherals?: { type: PeripheralType; manufacturer?: string; model?: string }[];
    interfaces?: { type: InterfaceType }[];
    otelCollector?: boolean;
    supportedRuntimes?: ('oci' | 'custom')[];
    supportedDeploymentTypes?: DeploymentType[];
    /** Anything else the device reports under properties (kept for JSON-pointer selectors). */
    [key: string]: unknown;
  };
  labels?: Record<string, string | number | boolean | string[] | number[]>;
  extensions?: Extensions;
}

export type DeploymentState = 'pending' | 'installing' | 'installed' | 'failed' | 'removing' | 'removed';

export interface DeploymentStatus {
  deploymentId: string;
  deviceId?: string;
  /** rc.3: the manifestVersion the device took this revision from; 0 = not reported (an rc.2 client, ADR 0104). */
  adoptedManifestVersion: number;
  status: { state: DeploymentState; error?: { code?: string; source?: string; message?: string } };
  components: {
    name: string;
    state: DeploymentState;
    error?: { code?: string; source?: string; message?: string };
  }[];
}

export interface StateManifest {
  manifestVersion: number;
  bundle: {
    mediaType: 'application/vnd.margo.bundle.v1+tar+gzip';
    digest: string;
    sizeBytes?: number;
    url: string;
  } | null;
  deployments: { deploymentId: string; digest: string; sizeBytes?: number; url: string }[];
}

/** A problem found while reading a resource: field path plus source position when known. */
export interface MargoProblem {
  /** e.g. `deploymentProfiles[0].components[1].properties.repository` */
  path: string;
  message: string;
  line?: number;
  column?: number;
  severity: 'error' | 'warning';
}
