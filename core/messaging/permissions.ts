import {
  HUB_DOMAIN,
  deliverPrefix,
  desiredSubject,
  downStreamName,
  linkPingSubject,
  nodeInboxPrefix,
  nodeSubject,
  siteDomain,
  upStreamName,
} from '../../lib/bus/index.js';

/**
 * The credential model's permissions (ADR 0161). Everything is an allow-list: a subject not listed is
 * denied, for publishing and for subscribing. nats-server applies the same lists to leaf-node
 * connections, where "publish" is what the leaf may send to the hub and "subscribe" is what the hub
 * forwards to the leaf.
 */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** May reply to requests it received (nats-server's `allow_responses`): one reply each, within the time. */
  allow_responses?: { max: number; expires: string };
}

/**
 * A node may publish only its own status, events and presence, and receive only its own notices, its
 * logs requests and replies; it answers a logs request once, within a minute (ADR 0016).
 */
export function nodePermissions(siteId: string, nodeUid: string): NatsPermissions {
  return {
    publish: {
      allow: [
        nodeSubject(siteId, nodeUid, 'status'),
        nodeSubject(siteId, nodeUid, 'events'),
        nodeSubject(siteId, nodeUid, 'presence'),
      ],
    },
    subscribe: {
      allow: [
        nodeSubject(siteId, nodeUid, 'notify'),
        nodeSubject(siteId, nodeUid, 'logs'),
        `${nodeInboxPrefix(siteId, nodeUid)}.>`,
      ],
    },
    allow_responses: { max: 1, expires: '1m' },
  };
}

/**
 * What an LO's leaf connection may carry, checked by the hub (the CO's server):
 * upward, its own site's subjects, the deliveries of the hub's source of its upward stream, replies to
 * the hub's JetStream API requests, and the consumer requests and flow control of its own source of
 * the hub's per-site notice stream; downward, its own notices and link probes, the JetStream API of its own domain,
 * and the flow control of the hub's source of its upward stream.
 *
 * Residual exposure (documented in ADR 0161): `$JSC.R.>` (the servers' JetStream API reply inboxes,
 * random names) must be allowed both ways, so a compromised LO could observe JetStream API responses
 * (stream and consumer metadata, never message payloads) addressed to other leaves.
 */
export function leafPermissions(siteId: string): NatsPermissions {
  const down = downStreamName(siteId);
  const up = upStreamName(siteId);
  const hubApi = `$JS.${HUB_DOMAIN}.API`;
  return {
    publish: {
      allow: [
        `outpost.site.${siteId}.>`,
        `${deliverPrefix(siteId, 'up')}.>`,
        '$JSC.R.>',
        `${hubApi}.CONSUMER.CREATE.${down}`,
        `${hubApi}.CONSUMER.CREATE.${down}.>`,
        `${hubApi}.CONSUMER.DELETE.${down}.>`,
        `${hubApi}.CONSUMER.INFO.${down}.>`,
        `${hubApi}.STREAM.INFO.${down}`,
        `$JS.FC.${down}.>`,
        `$JS.ACK.${down}.>`,
      ],
    },
    subscribe: {
      allow: [
        desiredSubject(siteId),
        linkPingSubject(siteId),
        `${deliverPrefix(siteId, 'down')}.>`,
        `$JS.${siteDomain(siteId)}.API.>`,
        '$JSC.R.>',
        `$JS.FC.${up}.>`,
        `$JS.ACK.${up}.>`,
      ],
    },
  };
}

/** The embedded control plane's own user (LO and/or CO process): everything in the account. */
export function servicePermissions(): NatsPermissions {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}
