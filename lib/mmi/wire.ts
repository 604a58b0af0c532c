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
  notAfter: number;
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
