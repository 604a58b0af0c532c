/**
 * Bodies of the MMI extension endpoints our agent and the LO exchange (enrollment and SVID renewal,
 * ADRs 0242 and 0380), and the Margo problem types both sides name.
 */

export interface EnrollRequest {
  token: string;
  csrPem: string;
  /** Free text the agent may send (hostname) for the operator's view. */
  hostname?: string | undefined;
}

export interface EnrollResponse {
  clientId: string;
  spiffeId: string;
  /** The node's X.509-SVID (PEM) followed by any intermediates. */
  certPem: string;
  /** Trust anchors for the WFM (PEM). */
  anchorsPem: string[];
  wfmSpiffeId: string;
  /** Base URL of the MMI (where the agent polls). */
  mmiUrl: string;
  /**
   * The site registry's HTTPS URL (certificate from the site CA, the node's SVID authenticates), where the
   * agent pulls artifacts through (ADR 0422). A wildcard host (0.0.0.0) means "the LO's host".
   */
  registryUrl?: string | undefined;
  notAfter: number;
  /** Where the node was enrolled (answers to an approved enrollment request carry them: the node had no token). */
  siteId?: string | undefined;
  nodeName?: string | undefined;
  tenantId?: string | undefined;
  /** Messaging credentials when NATS runs: where and as whom the agent connects. */
  nats?:
    | {
        url: string;
        /** The node's NKEY user and seed (the seed is the node's secret, like its private key). */
        user: string;
        seed: string;
        inboxPrefix: string;
        subjects: { notify: string; status: string; events: string; presence: string };
        /** The server speaks TLS with a certificate from the site CA (verify it with the trust anchors). */
        tls: boolean;
      }
    | undefined;
}

/** `POST /api/v1/outpost/enroll-requests` (ADR 0462): a node without a token asks to be enrolled. */
export interface EnrollRequestFiling {
  csrPem: string;
  hostname?: string | undefined;
  /** The node name the node would like (the operator decides). */
  name?: string | undefined;
  /** Hardware summary for the operator (cpu, cores, memory, os, arch). */
  hardware?: Record<string, unknown> | undefined;
  version?: string | undefined;
  /** The remote address of the request (set by the server). */
  address: string;
}

export interface EnrollRequestFiled {
  id: string;
  /** The secret the node polls with (only it has it). */
  pollSecret: string;
  /** The compare code (six digits) the console shows beside the request. */
  code: string;
  keyFingerprint: string;
  expiresAt: number;
  pollAfterSeconds: number;
}

/** `GET /api/v1/outpost/enroll-requests/{id}` with the poll secret: still pending, or the SVID. */
export type EnrollRequestPoll =
  | { state: 'pending'; expiresAt: number; retryAfterSeconds: number }
  | { state: 'approved'; response: EnrollResponse };

/** The answer of `POST /api/v1/outpost/renew` (ADR 0380). */
export interface RenewResponse {
  /** Always the presented SPIFFE ID. */
  spiffeId: string;
  /** The new X.509-SVID (PEM) followed by any intermediates. */
  certPem: string;
  serialHex: string;
  notAfter: number;
  /** Trust anchors for the WFM (PEM). */
  anchorsPem: string[];
}

/**
 * Optional request headers of `POST /api/v1/deployments/{id}/status` (ADR 0169, an Outpost extension the
 * Margo body has no room for): when the report was made and when it was sent, both on the sender's clock
 * (ms since epoch). The LO dates the report on its own clock as receipt time minus the time the report
 * waited at the sender, so a wrong clock on the node does not matter.
 */
export const STATUS_EVENT_AT_HEADER = 'outpost-event-at';
export const STATUS_SENT_AT_HEADER = 'outpost-sent-at';

/** When a report was made, on the receiver's clock, from the sender's event and send times (ADR 0169). */
export function reportEventTime(
  receivedAt: number,
  eventAt?: number | null,
  sentAt?: number | null,
): number | null {
  const ok = (v: number | null | undefined): v is number =>
    typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (ok(eventAt) && ok(sentAt)) return receivedAt - Math.max(0, sentAt - eventAt);
  if (ok(eventAt)) return Math.min(eventAt, receivedAt);
  return null;
}

export const MARGO_PROBLEM_BASE = 'https://docs.margo.org/specification/problem-types#';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Registered Margo problem types: name → [HTTP status, title]. */
export const MARGO_PROBLEM_TYPES = {
  'invalid-request': [400, 'Invalid Request'],
  'semantic-error': [422, 'Semantic Error'],
  'not-authorized': [403, 'Not Authorized'],
  'gateway-not-found': [404, 'Gateway Not Found'],
  'device-not-found': [404, 'Device Not Found'],
  'invalid-bundle': [404, 'Invalid Bundle'],
  'deployment-not-found': [404, 'Deployment Not Found'],
  'server-cannot-generate-response': [406, 'Server Cannot Generate Response'],
} as const satisfies Record<string, readonly [number, string]>;

export type MargoProblemName = keyof typeof MARGO_PROBLEM_TYPES;

/** Our own problem types, for cases Margo registers none (ADR 0462, 0463): `urn:outpost:problem:<name>`. */
export const OUTPOST_PROBLEM_BASE = 'urn:outpost:problem:';
export const OUTPOST_PROBLEM_TYPES = {
  /** An authenticated, accepted client that is not an enrolled node tried to act as one (capabilities). */
  'not-a-node': [403, 'Not A Node'],
  /** The operator rejected the enrollment request. */
  'enroll-request-rejected': [403, 'Enrollment Request Rejected'],
  /** The enrollment request expired before anyone decided. */
  'enroll-request-expired': [410, 'Enrollment Request Expired'],
} as const satisfies Record<string, readonly [number, string]>;
export type OutpostProblemName = keyof typeof OUTPOST_PROBLEM_TYPES;
