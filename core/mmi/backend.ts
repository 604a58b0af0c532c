import type { DeploymentStatus, DeviceCapabilities } from '../../lib/model/index.js';
import type {
  EnrollRequest,
  EnrollRequestFiled,
  EnrollRequestFiling,
  EnrollRequestPoll,
  EnrollResponse,
  RenewResponse,
} from '../../lib/mmi/index.js';

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

/** `POST /api/v1/outpost/renew` (ADR 0380): the authenticated client asks for a new SVID for a new key. */
export interface RenewRequest {
  /** A PEM CSR for the node's new key (P-256); asks for nothing beyond the presented identity. */
  csrPem: string;
  /** SPKI DER of the presented certificate's key (the CSR must carry another one). */
  presentedKeySpki: Buffer;
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
  /**
   * Optional fast path of the poll (ADR 0540): the digest of the client's current manifest, from memory,
   * without its bytes; undefined when the client has none yet. A poll whose `If-None-Match` matches it is
   * answered 304 from this alone; otherwise the server reads `manifest()`.
   */
  manifestTag?(client: MmiClient): { digest: string } | undefined;
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
  /**
   * `POST /deployments/{id}/status`: 'created' (201) for the first report of this deployment, else 'updated'
   * (200). `timing` carries the sender's `Outpost-Event-At` / `Outpost-Sent-At` headers when given (ADR 0169).
   * May answer once the report is committed with others (a group commit, ADR 0550); the server answers
   * the node only then.
   */
  postStatus(
    client: MmiClient,
    status: DeploymentStatus,
    timing?: { eventAt?: number | undefined; sentAt?: number | undefined },
  ): 'created' | 'updated' | Promise<'created' | 'updated'>;
  /** Enrollment (the one call without a client certificate): one-time token + CSR -> SVID. */
  enroll(request: EnrollRequest): Promise<EnrollResponse>;
  /**
   * Enrollment by approval (no client certificate either). Refusals: margo/invalid-request (400),
   * rate-limited (429 with data.retryAfterSeconds). Absent: the server answers 404.
   */
  fileEnrollRequest?(request: EnrollRequestFiling): Promise<EnrollRequestFiled>;
  /**
   * The state of a filed request for the holder of its poll secret. Refusals: margo/not-authorized (403:
   * unknown id or wrong secret), enroll/request-rejected (403), enroll/request-expired (410).
   */
  pollEnrollRequest?(id: string, secret: string): Promise<EnrollRequestPoll>;
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
