// The baseline of the MMI poll benchmarks: a bare node:https server with the same certificates as the
// Outpost MMI (its server SVID, the site CA after it, client certificates requested), answering every GET
// with 304 and the headers the MMI sends. Node's defaults otherwise (session tickets on, keep-alive 5 s).
// Usage: node bare-https-304.mjs '{"cert":..., "key":..., "ca":..., "etag":...}'; prints the port.
import https from 'node:https';

const o = JSON.parse(process.argv[2]);
const server = https.createServer(
  { cert: o.cert, key: o.key, ca: o.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
  (req, res) => {
    res.writeHead(304, {
      'x-content-type-options': 'nosniff',
      'content-type': 'application/vnd.margo.manifest.v1+json',
      etag: o.etag,
      'cache-control': 'private',
      vary: 'Accept',
    });
    res.end();
  },
);
if (o.keepAliveTimeoutMs) server.keepAliveTimeout = o.keepAliveTimeoutMs;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
