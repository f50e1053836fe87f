import { createServer, request, type Server } from 'node:http';

export type LoadBalancer = {
  url: string;
  /** Every request passed on, in order: which backend (index into `backends`) took it. */
  served: Array<{ backend: number; method: string; path: string }>;
  close(): Promise<void>;
};

/**
 * One address in front of several HTTP backends, as a load balancer gives a deployment: each request goes
 * to the next backend in turn (per request, not per connection, so a client's keep-alive connection does not
 * pin it to one instance). Bodies and headers pass through unchanged, signatures included.
 */
export async function startRoundRobin(backends: string[]): Promise<LoadBalancer> {
  const served: LoadBalancer['served'] = [];
  let next = 0;
  const server: Server = createServer((req, res) => {
    const backend = next++ % backends.length;
    const target = new URL(backends[backend]!);
    served.push({ backend, method: req.method ?? 'GET', path: req.url ?? '/' });
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
