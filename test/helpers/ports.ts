/**
 * Free ports for tests that must start real processes on fixed ports
 * (`mogfs up` takes port numbers, not 0).
 */
import net from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port p with p and p+1 free on every host given (storage HTTP + side channel). */
export async function freePortPair(hosts: string[] = ['127.0.0.1', '127.0.0.2']): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const p = await freePort(hosts[0]);
    if (p > 65000) continue;
    const ok = await Promise.all(hosts.flatMap((h) => [p, p + 1].map((q) => canListen(h, q))));
    if (ok.every(Boolean)) return p;
  }
  throw new Error('no free port pair found');
}
