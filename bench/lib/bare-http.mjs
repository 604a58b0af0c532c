// The baseline of the server start benchmarks: a bare node:http server answering every request with a
// small JSON body. Prints its port on its first line of stdout. Usage: node bare-http.mjs
import http from 'node:http';

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
