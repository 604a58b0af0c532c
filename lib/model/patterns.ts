/**
 * The patterns and enumerations of the Margo resources (the Margo specification sections 1 and 2, and the
 * rc.3 OpenAPI component schemas), in one place so every parser and renderer uses the same ones.
 */

/** ApplicationDescription `id` and ApplicationDeployment `spec.applicationId` (rc.3). */
export const APPLICATION_ID = /^[a-z0-9-]{1,200}$/;
/** What older descriptions used (dots, e.g. `com.appforge-dynamics.sys-sec-mon`): accepted with a warning (ADR 0100). */
export const LEGACY_APPLICATION_ID = /^[a-z0-9][a-z0-9.-]{0,199}$/;
/** Deployment profile ids: the spec only says "unique"; we require a URL- and file-safe token (ADR 0100). */
export const PROFILE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Component names: "lower case letters and numbers and MAY contain dashes" (it is the Helm chart name). */
export const COMPONENT_NAME = /^[a-z0-9]([a-z0-9-]{0,198}[a-z0-9])?$/;
/** Parameter names: the spec gives no pattern; this keeps `--set name=value` and env-var-like names unambiguous (ADR 0100). */
export const PARAMETER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/**
 * Characters never accepted in names (shown in tables and logs): C0 and C1 controls (escape sequences,
 * NUL), DEL, and the Unicode bidirectional marks and overrides (an RTL override reverses what follows).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/**
 * Never accepted in any text: C0 controls but tab, line feed and carriage return, DEL, C1 controls.
 * (Bidirectional marks may belong in a description written in Arabic or Hebrew; names refuse them.)
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
export const NO_CONTROL_CHARACTERS =
  'must not contain control characters (escape sequences, NUL, bidirectional overrides)';

/** `x-<unique-name>-extensions` member keys. */
export const EXTENSION_KEY = /^x-[a-z][a-z0-9-]*-extensions$/;
/** Anything that looks like an attempt at an extension key (to give a better message than "unknown key"). */
export const EXTENSION_LIKE_KEY = /^x-/i;

export const OCI_REPOSITORY = /^oci:\/\/.+/;
/** SemVer 2.0 without a leading `v`; build metadata is written after `_` (an OCI tag cannot hold `+`). From the rc.3 OpenAPI. */
export const REVISION =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:_([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** An OCI tag (distribution-spec): what `metadata.version` must at least be, since the package is tagged with it. */
export const OCI_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const TIMEOUT = /^\d+m\d+s$/;
/** Author e-mail as the spec gives it (search semantics, like JSON Schema `pattern`). */
export const EMAIL = /.*@[a-z0-9.-]*/;

export const MEMORY_QUANTITY = /^[0-9]+(Mi|Gi|Ki)$/;
export const STORAGE_QUANTITY = /^[0-9]+(Mi|Gi|Ki|Ti|Pi|Ei)$/;

/** rc.3 DeviceId: RFC 3986 unreserved characters, `/` separates the hierarchy (`gw/child`). */
export const DEVICE_ID = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;
/** rc.3 DeviceId_with_asterisk: `gw/*` lets a gateway choose the child. */
export const DEVICE_ID_WITH_ASTERISK = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*(\/\*)?$/;
/** Deployment ids travel in URL paths (`/api/v1/deployments/{deploymentId}/...`): URL-safe tokens, UUIDs in practice. */
export const DEPLOYMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/;

export const DEPLOYMENT_TYPES = ['helm', 'compose', 'custom'] as const;
export const CPU_ARCHITECTURES = ['amd64', 'arm64', 'arm', 'riscv64', 'other'] as const;
export const PERIPHERAL_TYPES = ['gpu', 'display', 'camera', 'microphone', 'speaker', 'other'] as const;
export const INTERFACE_TYPES = [
  'ethernet',
  'wifi',
  'cellular',
  'bluetooth',
  'usb',
  'canbus',
  'rs232',
  'other',
] as const;
export const MATCH_OPERATORS = [
  'In',
  'NotIn',
  'Exists',
  'DoesNotExist',
  'Gt',
  'Lt',
  'ContainsAll',
  'ContainsAny',
] as const;
export const SCHEMA_DATA_TYPES = [
  'string',
  'integer',
  'double',
  'boolean',
  'array[string]',
  'array[integer]',
  'array[double]',
  'array[boolean]',
] as const;
export const DEPLOYMENT_STATES = [
  'pending',
  'installing',
  'installed',
  'failed',
  'removing',
  'removed',
] as const;
export const OUTPOST_RUNTIMES = ['wasm', 'ocre'] as const;

export const BUNDLE_MEDIA_TYPE = 'application/vnd.margo.bundle.v1+tar+gzip';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.margo.manifest.v1+json';
