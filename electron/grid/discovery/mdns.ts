// LAN discovery over mDNS (bonjour-service): coordinators advertise `_colony._tcp`, contributors
// `_colony-worker._tcp`. An advert is a hint to find an address, never a reason to trust it.
import { Bonjour, type Service } from 'bonjour-service';
import { PROTOCOL_VERSION } from '../../../shared/protocol.js';

export const COORDINATOR_TYPE = 'colony';
export const CONTRIBUTOR_TYPE = 'colony-worker';

export interface MdnsOptions {
  /** IP of the interface to multicast on (tests pass a namespace's address). @defaultValue all */
  interface?: string;
}

export interface CoordinatorAdvert {
  coordinatorId: string;
  name: string;
  /** Certificate fingerprint as advertised: compared with the pin, never a source of trust. */
  fingerprint: string;
  protocol: number;
  host: string;
  port: number;
  url: string;
}

function bonjour(opts: MdnsOptions): Bonjour {
  // bonjour-service hands these options to multicast-dns; `interface` picks the NIC for
  // membership and sending. It would also bind the socket to that unicast address, where
  // Linux delivers no multicast, so bind to the wildcard explicitly.
  const mdnsOpts = opts.interface ? { interface: opts.interface, bind: '0.0.0.0' } : {};
  return new Bonjour(mdnsOpts as never, () => undefined);
}

function txt(service: Service, key: string): string | undefined {
  const value = (service.txt as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString() : undefined;
}

const usable = (a: string | undefined): a is string =>
  a !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(a) && a !== '0.0.0.0';

/**
 * The address the answer came from routes back to the advertiser; the A records it lists are
 * a fallback (they describe every interface of the advertising host, some unreachable).
 */
function addressOf(service: Service): string | undefined {
  const referer = service.referer?.address;
  if (usable(referer)) return referer;
  return (service.addresses ?? []).filter(usable).find((a) => !a.startsWith('127.'));
}

export function toCoordinatorAdvert(service: Service): CoordinatorAdvert | undefined {
  const coordinatorId = txt(service, 'id');
  const fingerprint = txt(service, 'fp');
  const host = addressOf(service);
  if (!coordinatorId || !fingerprint || !host) return undefined;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    coordinatorId,
    name: txt(service, 'name') ?? service.name,
    fingerprint,
    protocol: Number(txt(service, 'proto') ?? 0),
    host,
    port: service.port,
    url: `https://${h}:${service.port}`,
  };
}

/** Advertise a coordinator; returns a function that withdraws the advert. */
export function advertiseCoordinator(
  a: { coordinatorId: string; name: string; fingerprint: string; port: number },
  opts: MdnsOptions = {},
): () => Promise<void> {
  const b = bonjour(opts);
  b.publish({
    name: `Colony ${a.name} ${a.coordinatorId.slice(0, 8)}`,
    type: COORDINATOR_TYPE,
    port: a.port,
    // A host name of its own: the machine's name is shared by every advert on it.
    host: `colony-${a.coordinatorId}.local`,
    txt: { id: a.coordinatorId, name: a.name, fp: a.fingerprint, proto: String(PROTOCOL_VERSION) },
    disableIPv6: true,
  });
  return () => new Promise((done) => b.unpublishAll(() => b.destroy(() => done())));
}

/** Advertise a contributor so the coordinator can list machines that are not paired yet. */
export function advertiseContributor(
  a: { contributorId: string; name: string; port?: number },
  opts: MdnsOptions = {},
): () => Promise<void> {
  const b = bonjour(opts);
  b.publish({
    name: `Colony worker ${a.name} ${a.contributorId.slice(0, 8)}`,
    type: CONTRIBUTOR_TYPE,
    port: a.port ?? 9,
    host: `colony-worker-${a.contributorId}.local`,
    txt: { id: a.contributorId, name: a.name },
    disableIPv6: true,
  });
  return () => new Promise((done) => b.unpublishAll(() => b.destroy(() => done())));
}

/** Follows coordinators on the LAN: the latest advert of each, kept up to date. */
export class CoordinatorBrowser {
  private readonly b: Bonjour;
  private readonly browser: ReturnType<Bonjour['find']>;
  /** Adverts by coordinator id, then by address: an impostor may advertise the same id. */
  private readonly seen = new Map<string, Map<string, CoordinatorAdvert & { at: number }>>();
  private lastTried: string | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(opts: MdnsOptions = {}) {
    this.b = bonjour(opts);
    this.browser = this.b.find({ type: COORDINATOR_TYPE });
    const onService = (service: Service) => {
      const advert = toCoordinatorAdvert(service);
      if (!advert) return;
      const byAddress =
        this.seen.get(advert.coordinatorId) ??
        new Map<string, CoordinatorAdvert & { at: number }>();
      byAddress.set(advert.url, { ...advert, at: Date.now() });
      this.seen.set(advert.coordinatorId, byAddress);
      for (const wake of [...this.waiters]) wake();
    };
    this.browser.on('up', onService);
    this.browser.on('srv-update', onService);
    this.browser.on('txt-update', onService);
  }

  /**
   * Where a coordinator may be, best first: adverts carrying the pinned fingerprint, newest first.
   * Only the TLS handshake decides; the order just tries the likely one first.
   */
  candidates(coordinatorId: string, pin?: string): CoordinatorAdvert[] {
    const list = [...(this.seen.get(coordinatorId)?.values() ?? [])];
    const score = (a: CoordinatorAdvert) => (pin && a.fingerprint === pin ? 1 : 0);
    return list.sort((a, b) => score(b) - score(a) || b.at - a.at);
  }

  get(coordinatorId: string, pin?: string): CoordinatorAdvert | undefined {
    return this.candidates(coordinatorId, pin)[0];
  }

  /**
   * For each reconnect: the best candidate, unless it is the one just tried (and so failed), then
   * the one after it. A loop calling this reaches a moved coordinator and walks past an impostor.
   */
  next(coordinatorId: string, pin?: string): CoordinatorAdvert | undefined {
    const list = this.candidates(coordinatorId, pin);
    if (list.length === 0) return undefined;
    const last = list.findIndex((a) => a.url === this.lastTried);
    const pick = last === 0 ? list[1 % list.length] : list[0];
    this.lastTried = pick?.url;
    return pick;
  }

  all(): CoordinatorAdvert[] {
    return [...this.seen.keys()].flatMap((id) => this.candidates(id).slice(0, 1));
  }

  /** Ask the LAN again (after losing the coordinator: it may have moved). */
  refresh(): void {
    this.browser.update();
  }

  /** Wait (bounded) for a coordinator, a given one or any. */
  async find(
    coordinatorId: string | undefined,
    timeoutMs: number,
    pin?: string,
  ): Promise<CoordinatorAdvert | undefined> {
    const pick = () => (coordinatorId ? this.get(coordinatorId, pin) : this.all()[0]);
    const deadline = Date.now() + timeoutMs;
    let found = pick();
    while (!found && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(1000, Math.max(0, deadline - Date.now())));
        this.waiters.add(wake);
      });
      found = pick();
      if (!found) this.refresh();
    }
    return found;
  }

  stop(): Promise<void> {
    this.browser.stop();
    return new Promise((done) => this.b.destroy(() => done()));
  }
}

/** Follows contributors advertising on the LAN (paired or not). */
export class ContributorBrowser {
  private readonly b: Bonjour;
  private readonly browser: ReturnType<Bonjour['find']>;
  readonly seen = new Map<
    string,
    { contributorId: string; name: string; host: string | undefined; lastSeen: number }
  >();

  constructor(opts: MdnsOptions = {}) {
    this.b = bonjour(opts);
    this.browser = this.b.find({ type: CONTRIBUTOR_TYPE });
    this.browser.on('up', (s: Service) => {
      const id = txt(s, 'id');
      if (id)
        this.seen.set(id, {
          contributorId: id,
          name: txt(s, 'name') ?? s.name,
          host: addressOf(s),
          lastSeen: Date.now(),
        });
    });
    this.browser.on('down', (s: Service) => {
      const id = txt(s, 'id');
      if (id) this.seen.delete(id);
    });
  }

  stop(): Promise<void> {
    this.browser.stop();
    return new Promise((done) => this.b.destroy(() => done()));
  }
}
