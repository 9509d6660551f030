// Who is signed in to the GUI: the user and role the coordinator says the token belongs to, sign-in
// and sign-out, and what that role may do (the server refuses the rest; the GUI does not offer it).
import { useSyncExternalStore } from 'react';
import type { JobSummary } from '../../shared/api.js';
import { API, apiErrorOf, clearToken, setToken, token, whenUnauthorized } from './api.js';

/** The bootstrap admin token's user (the coordinator's owner), as the coordinator names it. */
export const OWNER_USER = 'owner';

export type PersonRole = 'admin' | 'submitter' | 'viewer';

export interface Me {
  user: string;
  role: PersonRole;
}

export type SessionState =
  | { state: 'checking' }
  /** The coordinator could not be asked who the token is; retrying. */
  | { state: 'unreachable'; message: string }
  | { state: 'signed-out'; message?: string }
  | { state: 'signed-in'; me: Me };

const EXPIRED =
  'Your token no longer works: it was rotated, or its user was removed. Sign in with your current token.';

/** Who `bearer` belongs to, from GET /whoami; throws a sentence a person can act on. */
async function whoami(bearer: string): Promise<Me> {
  let res: Response;
  try {
    res = await fetch(`${API}/whoami`, { headers: { authorization: `Bearer ${bearer}` } });
  } catch (err) {
    throw new Unreachable(`cannot reach the coordinator (${String(err)})`);
  }
  if (res.status === 401)
    throw new Error(
      'That token is not recognised. Check it, or ask an admin for a new one (colony users token NAME --rotate).',
    );
  if (!res.ok) throw await apiErrorOf(res);
  const body = (await res.json()) as { user: string | null; role: string };
  if (body.role !== 'admin' && body.role !== 'submitter' && body.role !== 'viewer')
    throw new Error(`a ${body.role} credential cannot sign in to the GUI; use a person's token`);
  return { user: body.user ?? body.role, role: body.role };
}

class Unreachable extends Error {}

class Session {
  private current: SessionState = { state: 'checking' };
  private readonly listeners = new Set<() => void>();
  private retry: ReturnType<typeof setTimeout> | undefined;
  private rotation: Promise<unknown> | undefined;

  constructor() {
    whenUnauthorized((used) => this.expired(used));
  }

  /** At load: ask who the stored token (from `#token=`, this tab or this browser) belongs to. */
  start(): void {
    clearTimeout(this.retry);
    const t = token();
    if (t === null) return this.set({ state: 'signed-out' });
    whoami(t).then(
      (me) => {
        if (token() === t) this.set({ state: 'signed-in', me });
      },
      (err: unknown) => {
        if (err instanceof Unreachable) {
          this.set({ state: 'unreachable', message: err.message });
          this.retry = setTimeout(() => this.start(), 3000);
          return;
        }
        clearToken();
        this.set({ state: 'signed-out', message: EXPIRED });
      },
    );
  }

  /** Checks `value` with the coordinator first: a wrong token is refused and nothing is stored. */
  async signIn(value: string, keep: boolean): Promise<void> {
    const me = await whoami(value.trim());
    setToken(value, keep);
    this.set({ state: 'signed-in', me });
  }

  signOut(): void {
    clearToken();
    this.set({ state: 'signed-out', message: 'Signed out. Your token is no longer kept here.' });
  }

  /**
   * The coordinator refused `used` (401): back to the sign-in screen, the token forgotten — unless
   * this tab uses another token by now. During a rotation (`during`) the verdict waits for it, as a
   * request sent with the old token may be refused before the new one is in place.
   */
  expired(used: string | null): void {
    if (this.rotation) {
      const settle = () => this.expired(used);
      void this.rotation.then(settle, settle);
      return;
    }
    if (this.current.state !== 'signed-in' || used !== token()) return;
    clearToken();
    this.set({ state: 'signed-out', message: EXPIRED });
  }

  /** Runs `change` (which replaces this tab's token), holding back 401 verdicts until it ends. */
  during<T>(change: Promise<T>): Promise<T> {
    const held = change.finally(() => {
      if (this.rotation === held) this.rotation = undefined;
    });
    this.rotation = held;
    return held;
  }

  private set(state: SessionState): void {
    this.current = state;
    for (const l of this.listeners) l();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SessionState => this.current;
}

export const session = new Session();

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.getSnapshot);
}

/** The signed-in person (views are only shown to someone signed in). */
export function useMe(): Me {
  const s = useSession();
  return s.state === 'signed-in' ? s.me : { user: '', role: 'viewer' };
}

// ---- what a role may do: null when allowed, else the reason shown on the disabled control ----

export function submitRefusal(me: Me): string | null {
  return me.role === 'viewer'
    ? `${me.user} is a viewer: viewers can look but not submit. Ask an admin for a submitter token.`
    : null;
}

export function jobChangeRefusal(me: Me, job: Pick<JobSummary, 'owner'>): string | null {
  if (me.role === 'admin') return null;
  if (me.role === 'viewer') return `${me.user} is a viewer: viewers cannot change jobs`;
  const owner = job.owner ?? OWNER_USER;
  return owner === me.user
    ? null
    : `this job belongs to ${owner}: only its owner or an admin can change it`;
}

export function adminRefusal(me: Me, what: string): string | null {
  return me.role === 'admin' ? null : `${what} needs an admin; ${me.user} is a ${me.role}`;
}
