/**
 * Hosts in network namespaces, for tests of several machines on one: a
 * switch namespace holding a bridge, and each host a namespace with one veth
 * (`eth0`) plugged into it, addresses on a private /24 the test picks.
 * Nothing is changed in the machine's own namespace; everything is removed by
 * `destroy()`. Processes run inside a host with `host.spawn()`; a host is
 * cut off and brought back with `host.link(false|true)`.
 *
 *   const net = await createNet(['db', 'a', 'b']);
 *   const p = net.host('a').spawn('node', [...]);
 *   await net.destroy();
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** Why namespaces cannot be made here (null when they can): root and iproute2 are needed. */
export async function netnsProblem(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    await ip(['netns', 'list']);
    return null;
  } catch (e) {
    return `ip netns does not work here: ${(e as Error).message}`;
  }
}

export interface NetHost {
  name: string;
  /** The namespace's name, for `ip netns exec`. */
  ns: string;
  addr: string;
  /** Starts a process inside the host. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Runs a command inside the host to completion. */
  exec(cmd: string, args: string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Plugs the host's link in (true) or pulls it (false). */
  link(up: boolean): Promise<void>;
}

export interface Net {
  host(name: string): NetHost;
  destroy(): Promise<void>;
}

export async function createNet(names: string[]): Promise<Net> {
  const tag = `${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
  // 10.x.y.0/24 from the pid, away from common private ranges' first subnets.
  const subnet = `10.${200 + (process.pid % 50)}.${Math.floor(Math.random() * 250)}`;
  const sw = `mogfs-sw-${tag}`;
  const made: string[] = [];
  const hosts = new Map<string, NetHost>();
  const destroy = async (): Promise<void> => {
    for (const ns of made.reverse()) await ip(['netns', 'del', ns]).catch(() => undefined);
    made.length = 0;
  };
  try {
    await ip(['netns', 'add', sw]);
    made.push(sw);
    await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const [i, name] of names.entries()) {
      const ns = `mogfs-${name}-${tag}`;
      const addr = `${subnet}.${10 + i}`;
      await ip(['netns', 'add', ns]);
      made.push(ns);
      // The pair is made in the host's namespace; its other end moves to the switch and joins the bridge.
      await ip(['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`]);
      await ip(['-n', ns, 'link', 'set', `p${i}`, 'netns', sw]);
      await ip(['-n', sw, 'link', 'set', `p${i}`, 'master', 'br0']);
      await ip(['-n', sw, 'link', 'set', `p${i}`, 'up']);
      await ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      hosts.set(name, {
        name, ns, addr,
        spawn: (cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts),
        exec: (cmd, args, timeoutMs = 120_000) => new Promise((resolve) => {
          execFile('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
            resolve({ code, stdout: String(stdout), stderr: String(stderr) });
          });
        }),
        link: async (up) => { await ip(['-n', ns, 'link', 'set', 'eth0', up ? 'up' : 'down']); },
      });
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    host: (name) => hosts.get(name) ?? (() => { throw new Error(`no host ${name}`); })(),
    destroy,
  };
}
