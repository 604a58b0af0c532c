/**
 * What the MMI conformance suite (./suite.ts) needs from a WFM under test: a running MMI server over HTTPS
 * with mutual TLS, the site CA that signs its clients' SVIDs, and a few operator actions. Implemented by
 * core/mmi/testing/memory-fixture.ts (in-memory backend) and by the LO's own test (real backend), so the
 * same rules are checked against both.
 */
export interface MmiConformanceFixture {
  /**
   * Base URL of the MMI, `https://127.0.0.1:<port>` plus any base path (the API is at `${baseUrl}/api/v1`).
   * Read again after `restart()`: the port may change.
   */
  readonly baseUrl: string;
  readonly trustDomain: string;
  readonly wfmId: string;
  /**
   * The site CA: the suite signs client SVIDs with it (certificate and PKCS#8 key, PEM), and the server
   * trusts it for clients and sends it after its own SVID (pinned enrollment). `fingerprint` is caFingerprint.
   */
  readonly ca: { certPem: string; keyPem: string; fingerprint: string };
  /**
   * Puts a client into the accepted-client policy, as an operator approval or an enrollment would, and
   * returns its client id (the last segment of its SPIFFE ID). `name` is unique per call; a backend may
   * use it as the id or derive one.
   */
  acceptClient(name: string): Promise<string>;
  /** Revokes the client (deny list): its next request must get 403, even on an open connection. */
  revokeClient(clientId: string): Promise<void>;
  /**
   * Replaces the client's desired state with these ApplicationDeployment YAML documents (served byte for
   * byte). An empty list removes every deployment.
   */
  setDeployments(
    clientId: string,
    deployments: readonly { deploymentId: string; yaml: string }[],
  ): Promise<void>;
  /** A one-time enrollment token for a new node; `expired: true` gives one whose expiry has passed. */
  createEnrollmentToken(input: { nodeName: string; expired?: boolean }): Promise<string>;
  /** Optional: stops and starts the WFM on the same state (persistence checks are skipped without it). */
  restart?(): Promise<void>;
  close(): Promise<void>;
}

export type MakeMmiFixture = () => Promise<MmiConformanceFixture>;

export interface MmiConformanceOptions {
  /**
   * How the server treats a presented client certificate that fails the TLS chain check (another CA,
   * expired): 'refuse-handshake' (the default server setting: the connection is closed, no HTTP answer) or
   * 'forbid' (403 not-authorized).
   */
  untrustedCertificate?: 'refuse-handshake' | 'forbid';
}
