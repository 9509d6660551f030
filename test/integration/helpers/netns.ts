// A LAN of our own for mDNS tests: a bridge in a hub namespace and one namespace per "host",
// each with its own address and a multicast route. Nothing reaches the machine's real network.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { runCli } from './cluster.js';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

export function netnsAvailable(): boolean {
  const probe = `colony-probe-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

export interface Host {
  ns: string;
  address: string;
  /** The host's end of its veth (for cutting the link or moving the address). */
  dev: string;
}

export class Lan {
  readonly hosts: Host[] = [];
  private readonly names: string[] = [];
  private constructor(
    readonly tag: string,
    readonly subnet: number,
  ) {}

  static create(count: number): Lan {
    const tag = randomBytes(2).toString('hex');
    const lan = new Lan(tag, 100 + (parseInt(tag, 16) % 100));
    const hub = `colony-${tag}-hub`;
    lan.names.push(hub);
    try {
      ip('netns', 'add', hub);
      ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', hub, 'link', 'set', 'br0', 'up');
      for (let i = 1; i <= count; i++) lan.addHost(hub, i);
    } catch (err) {
      lan.destroy();
      throw err;
    }
    return lan;
  }

  private addHost(hub: string, i: number): void {
    const ns = `colony-${this.tag}-h${i}`;
    const dev = `c${this.tag}h${i}`;
    const peer = `c${this.tag}b${i}`;
    this.names.push(ns);
    ip('netns', 'add', ns);
    ip('link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', hub);
    ip('-n', hub, 'link', 'set', peer, 'master', 'br0');
    ip('-n', hub, 'link', 'set', peer, 'up');
    const address = `10.77.${this.subnet}.${i}`;
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
    // Without this route multicast has nowhere to go and nothing is found (TESTING.md).
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
    this.hosts.push({ ns, address, dev });
  }

  /** Give a host another address (the coordinator "moves"). */
  moveHost(host: Host, lastOctet: number): void {
    const next = `10.77.${this.subnet}.${lastOctet}`;
    // Delete first: removing a primary address also removes the secondaries added after it.
    ip('-n', host.ns, 'addr', 'del', `${host.address}/24`, 'dev', host.dev);
    ip('-n', host.ns, 'addr', 'add', `${next}/24`, 'dev', host.dev);
    host.address = next;
    ip('-n', host.ns, 'route', 'replace', '224.0.0.0/4', 'dev', host.dev);
  }

  /** Run `colony ...args` to completion inside a host. */
  cli(
    host: Host,
    args: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runCli(args, {}, host.ns);
  }

  destroy(): void {
    for (const ns of this.names.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
  }
}
