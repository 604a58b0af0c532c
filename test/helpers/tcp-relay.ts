import net from 'node:net';

/**
 * A TCP relay on loopback standing for a relay or proxy host between an LO and its CO: it forwards
 * connections to `target`, or (mode `refuse`) accepts and closes them at once, counting the attempts.
 */
export interface TcpRelay {
  readonly port: number;
  /** Connections forwarded so far. */
  forwarded(): number;
  /** Connections accepted and closed in `refuse` mode. */
  refused(): number;
  /** Forwarded connections still open. */
  open(): number;
  setMode(mode: 'forward' | 'refuse'): void;
  /** Closes every forwarded connection (both sides), as a broken path would. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }, port = 0): Promise<TcpRelay> {
  let mode: 'forward' | 'refuse' = 'forward';
  let forwarded = 0;
  let refused = 0;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((inbound) => {
    if (mode === 'refuse') {
      refused++;
      inbound.destroy();
      return;
    }
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    forwarded: () => forwarded,
    refused: () => refused,
    open: () => pairs.size,
    setMode(m) {
      mode = m;
    },
    dropAll() {
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    close() {
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
