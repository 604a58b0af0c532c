// The baseline of `edgectl co status -o json`: one request with node:http and nothing else, the same
// call the command makes (POST /api/v1/rpc/system.status with the token), the answer printed.
// Usage: node bare-request.mjs <server URL> <token>
import http from 'node:http';

const [url, token] = process.argv.slice(2);
const req = http.request(
  new URL('/api/v1/rpc/system.status', url),
  {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${token}`,
    },
  },
  (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      if (res.statusCode !== 200) {
        process.stderr.write(`status ${res.statusCode}\n`);
        process.exitCode = 1;
      }
      process.stdout.write(JSON.stringify(JSON.parse(body), null, 2) + '\n');
    });
  },
);
req.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 3;
});
req.end('{}');
