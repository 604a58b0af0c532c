import net from 'node:net';

/**
 * A TCP relay on loopback standing for a relay or proxy host between an LO and its CO. Modes:
 *  - `forward`: passes bytes both ways;
 *  - `refuse`: accepts new connections and closes them at once, counting the attempts;
 *  - `blackhole`: passes nothing and closes nothing, as a firewall that drops packets does: both ends
 *    keep a connection that carries nothing (bytes wait, as TCP retransmission would hold them), and
 *    new connections hang. Back to `forward`, everything held flows on.
 */
export type RelayMode = 'forward' | 'refuse' | 'blackhole';

export interface TcpRelay {
  readonly port: number;
  /** Connections forwarded so far. */
  forwarded(): number;
  /** Connections accepted and closed in `refuse` mode. */
  refused(): number;
  /** Forwarded connections still open. */
  open(): number;
  setMode(mode: RelayMode): void;
  /** Closes every forwarded connection (both sides), as a broken path would. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }, port = 0): Promise<TcpRelay> {
  let mode: RelayMode = 'forward';
  let forwarded = 0;
  let refused = 0;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const held = new Set<net.Socket>();

  const connect = (inbound: net.Socket) => {
    forwarded++;
    const outbound = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  };

  const server = net.createServer((inbound) => {
    if (mode === 'refuse') {
      refused++;
      inbound.destroy();
      return;
    }
    if (mode === 'blackhole') {
      inbound.pause();
      held.add(inbound);
      inbound.on('error', () => held.delete(inbound)).on('close', () => held.delete(inbound));
      return;
    }
    connect(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const destroyAll = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    forwarded: () => forwarded,
    refused: () => refused,
    open: () => pairs.size,
    setMode(m) {
      mode = m;
      for (const [a, b] of pairs) {
        if (m === 'blackhole') {
          a.unpipe(b);
          b.unpipe(a);
          a.pause();
          b.pause();
        } else if (a.isPaused()) {
          a.pipe(b);
          b.pipe(a);
        }
      }
      if (m !== 'blackhole') {
        for (const s of [...held]) {
          held.delete(s);
          if (m === 'forward') {
            connect(s);
            s.resume();
          } else s.destroy();
        }
      }
    },
    dropAll: destroyAll,
    close() {
      destroyAll();
      for (const s of held) s.destroy();
      held.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
