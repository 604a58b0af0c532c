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
