import type { DeploymentStatus, DeviceCapabilities } from '../margo/types.js';

/**
 * What the Margo Management Interface server (core/mmi/server.ts) needs from the rest of the LO.
 * The HTTP layer (TLS, SPIFFE checks, routing, headers, problem types) lives in the server; state,
 * policy and persistence live behind this interface (implemented in core/lo/).
 *
 * Errors: throw OutpostError with one of these codes; the server maps them to Margo problem types:
 *   margo/invalid-request (400), margo/not-authorized (403), margo/gateway-not-found (404),
 *   margo/device-not-found (404), margo/deployment-not-found (404), margo/invalid-bundle (404),
 *   margo/semantic-error (422, with errors[]), unavailable (503, with data.retryAfterSeconds).
 */
export interface MmiClient {
  /** The last segment of the client's SPIFFE ID (`.../client/<clientId>`): our node uid. */
  clientId: string;
  spiffeId: string;
  /** Serial of the presented leaf (hex), for the deny list. */
  serialHex: string;
}

export interface StoredManifest {
  /** The exact JSON bytes served (RFC 8785); ETag = `"sha256:<hex of bytes>"`. */
  bytes: Buffer;
  digest: string;
  manifestVersion: number;
}

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

/** `POST /api/v1/outpost/renew` (ADR 0380): the authenticated client asks for a new SVID for a new key. */
export interface RenewRequest {
  /** A PEM CSR for the node's new key (P-256); asks for nothing beyond the presented identity. */
  csrPem: string;
  /** SPKI DER of the presented certificate's key (the CSR must carry another one). */
  presentedKeySpki: Buffer;
}

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

export interface MmiBackend {
  /**
   * The accepted-client policy and the deny list, checked on every request (after the TLS chain and
   * the SPIFFE form were verified). Returns a reason when the client must get 403 not-authorized.
   */
  authorize(client: MmiClient): { ok: true } | { ok: false; reason: string };
  /** Called for every authorised request (presence: last seen). */
  seen(client: MmiClient, at: number): void;
  /** The client's current state manifest (version 1 with no deployments and `bundle: null` at first). */
  manifest(client: MmiClient): StoredManifest;
  /** The exact YAML bytes of a deployment in the client's scope whose digest is `digest`, else undefined. */
  deploymentYaml(client: MmiClient, deploymentId: string, digest: string): Buffer | undefined;
  /** The exact bundle bytes (tar.gz) in the client's scope with this digest, else undefined. */
  bundle(client: MmiClient, digest: string): Buffer | undefined;
  /** `PUT /capabilities/{deviceId}`: 'created' (201) or 'updated' (200). Child before parent: margo/gateway-not-found. */
  putCapabilities(
    client: MmiClient,
    deviceId: string,
    capabilities: DeviceCapabilities,
  ): 'created' | 'updated';
  /** `DELETE /capabilities/{deviceId}`: margo/device-not-found when unknown in this client's scope. */
  deleteCapabilities(client: MmiClient, deviceId: string): void;
  /** `POST /deployments/{id}/status`: 'created' (201) for the first report of this deployment, else 'updated' (200). */
  postStatus(client: MmiClient, status: DeploymentStatus): 'created' | 'updated';
  /** Enrollment (the one call without a client certificate): one-time token + CSR -> SVID. */
  enroll(request: EnrollRequest): Promise<EnrollResponse>;
  /**
   * SVID renewal for an authenticated, authorised client (the server already ran verifyPeer and
   * authorize). Refusals: margo/invalid-request (400, a bad CSR), margo/not-authorized (403, an SVID this
   * WFM does not know or revoked), rate-limited (429 with data.retryAfterSeconds: the newest SVID is too
   * young). Absent: the server answers 404 (renewal not offered).
   */
  renewSvid?(client: MmiClient, request: RenewRequest): Promise<RenewResponse>;
  /** SPIFFE trust bundle (JWKS) served at the trust bundle URI. */
  trustBundle(): { json: unknown; sequence: number };
}
