import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the test proxy saw: one line per request. */
export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export interface ResponseFault {
  /** Destroy the connection after this many body bytes. */
  cutAfterBytes?: number;
  /** Invert the byte at this body offset. */
  flipByteAt?: number;
  /** Pause this long after every chunk (a slow link). */
  delayMsPerChunk?: number;
}

export interface ProxyOptions {
  /** `http://127.0.0.1:<port>` of the real registry. */
  target: string;
  /** Answer a request here instead of forwarding it; return true when handled. */
  intercept?(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** A fault to inject into the response to this request, if any. */
  fault?(req: http.IncomingMessage, status: number): ResponseFault | undefined;
}

export interface TestProxy {
  host: string;
  requests: SeenRequest[];
  stop(): Promise<void>;
}

/**
 * A small HTTP reverse proxy on 127.0.0.1 in front of a real registry, for tests that need a broken
 * connection, a corrupted byte or an extra authentication layer. It keeps the client's Host header, so
 * upload locations the registry hands out point back at the proxy.
 */
export async function startProxy(options: ProxyOptions): Promise<TestProxy> {
  const target = new URL(options.target);
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (options.intercept?.(req, res)) return;
    const headers = { ...req.headers };
    delete headers.connection;
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        const fault = options.fault?.(req, upRes.statusCode ?? 0);
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (!fault) {
          upRes.pipe(res);
          return;
        }
        let offset = 0;
        upRes.on('data', (chunk: Buffer) => {
          if (res.destroyed) return;
          let out = chunk;
          if (
            fault.flipByteAt !== undefined &&
            fault.flipByteAt >= offset &&
            fault.flipByteAt < offset + chunk.length
          ) {
            out = Buffer.from(chunk);
            out[fault.flipByteAt - offset] = out[fault.flipByteAt - offset]! ^ 0xff;
          }
          if (fault.cutAfterBytes !== undefined && offset + out.length >= fault.cutAfterBytes) {
            res.write(out.subarray(0, fault.cutAfterBytes - offset));
            offset += out.length;
            upRes.destroy();
            res.socket?.destroy();
            return;
          }
          offset += out.length;
          res.write(out);
          if (fault.delayMsPerChunk) {
            upRes.pause();
            setTimeout(() => upRes.resume(), fault.delayMsPerChunk);
          }
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
