// The shell: sign-in, navigation for the signed-in person's role, who is signed in, connection
// state, and the current view.
import { useEffect, useState, type FormEvent } from 'react';
import { token } from './api.js';
import { ErrorText } from './components.js';
import { useRoute, type Route } from './router.js';
import { session, useMe, useSession, type PersonRole } from './session.js';
import { grid, useGrid } from './store.js';
import { Audit } from './views/Audit.js';
import { Contributors } from './views/Contributors.js';
import { ContributorPage } from './views/ContributorPage.js';
import { JobDetail } from './views/JobDetail.js';
import { Jobs } from './views/Jobs.js';
import { Overview } from './views/Overview.js';
import { Panel } from './views/Panel.js';
import { People } from './views/People.js';
import { Settings } from './views/Settings.js';
import { Submit } from './views/Submit.js';
import { Timeline } from './views/Timeline.js';

/** The main navigation; `roles` says who sees a link (the server refuses the others anyway). */
const NAV: { view: Route['view']; href: string; label: string; roles?: PersonRole[] }[] = [
  { view: 'overview', href: '#/', label: 'Overview' },
  { view: 'jobs', href: '#/jobs', label: 'Jobs' },
  { view: 'submit', href: '#/submit', label: 'Submit', roles: ['admin', 'submitter'] },
  { view: 'timeline', href: '#/timeline', label: 'Timeline' },
  { view: 'contributors', href: '#/contributors', label: 'Contributors' },
  { view: 'settings', href: '#/settings', label: 'Settings', roles: ['admin'] },
];

function SignIn({ message }: { message?: string | undefined }) {
  const [value, setValue] = useState('');
  const [keep, setKeep] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    session
      .signIn(value, keep)
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };
  return (
    <main id="main" className="sign-in-page">
      <form className="card token-prompt" onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="brand">Colony</div>
        <h1 id="sign-in-title">Sign in</h1>
        {message && (
          <p className="notice" role="status">
            {message}
          </p>
        )}
        <p className="muted">
          Paste your personal token: an admin makes one with{' '}
          <code>colony users add NAME --role submitter</code> (or in Settings → People). The
          coordinator&apos;s owner can open the address <code>colony up</code> prints instead.
        </p>
        <label>
          Token
          <input
            type="password"
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoFocus
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
          Keep me signed in on this browser
        </label>
        <p className="muted small">
          {keep
            ? 'The token is kept in this browser until you sign out. Do not tick this on a shared computer.'
            : 'The token is kept for this tab only and forgotten when it closes.'}
        </p>
        <ErrorText error={error} />
        <button type="submit" className="primary" disabled={!value.trim() || busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <Overview />;
    case 'jobs':
      return <Jobs />;
    case 'job':
      return <JobDetail key={route.id} id={route.id} task={route.task} />;
    case 'submit':
      return <Submit />;
    case 'contributors':
      return <Contributors />;
    case 'contributor':
      return <ContributorPage key={route.id} id={route.id} />;
    case 'settings':
      return <Settings />;
    case 'people':
      return <People />;
    case 'audit':
      return <Audit />;
    case 'timeline':
      return <Timeline />;
    case 'panel':
      return null; // its own shell, below
  }
}

function WhoAmI() {
  const me = useMe();
  return (
    <div className="who" data-testid="who">
      <span>
        Signed in as <strong data-testid="who-user">{me.user}</strong>{' '}
        <span className={`badge role-${me.role}`} data-testid="who-role">
          {me.role}
        </span>
      </span>
      <button
        type="button"
        onClick={() => {
          session.signOut();
          grid.close();
        }}
      >
        Sign out
      </button>
    </div>
  );
}

export function App() {
  const route = useRoute();
  const { status } = useGrid();
  const signed = useSession();
  const isPanel = route.view === 'panel';
  useEffect(() => {
    if (!isPanel) session.start();
  }, [isPanel]);
  // Signed in (or as someone else): the grid's stream starts again with this token.
  const user = signed.state === 'signed-in' ? signed.me.user : null;
  useEffect(() => {
    if (user !== null && !isPanel) grid.restart();
  }, [user, isPanel]);
  // The event stream refused the token (removed or rotated): back to sign-in.
  useEffect(() => {
    if (status === 'unauthorized') {
      session.expired(token());
      grid.close();
    }
  }, [status]);
  // The contributor panel talks only to this computer's manager: no coordinator, no sign-in.
  if (isPanel) return <Panel />;
  if (signed.state === 'signed-out') return <SignIn message={signed.message} />;
  if (signed.state !== 'signed-in')
    return (
      <main id="main" className="sign-in-page">
        <p className="muted" role="status">
          {signed.state === 'unreachable' ? `${signed.message}; retrying…` : 'Signing in…'}
        </p>
      </main>
    );
  const role = signed.me.role;
  const current =
    route.view === 'job'
      ? 'jobs'
      : route.view === 'contributor'
        ? 'contributors'
        : route.view === 'people' || route.view === 'audit'
          ? 'settings'
          : route.view;
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">Colony</div>
        <ul>
          {NAV.filter((n) => !n.roles || n.roles.includes(role)).map((n) => (
            <li key={n.view}>
              <a href={n.href} aria-current={current === n.view ? 'page' : undefined}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <div className={`conn conn-${status}`} role="status" aria-live="polite">
          {status === 'live'
            ? '● live'
            : status === 'connecting' || status === 'unauthorized'
              ? '○ connecting…'
              : '● not live: the coordinator cannot be reached, retrying…'}
        </div>
      </nav>
      <div className="content">
        <header className="topbar">
          <WhoAmI />
        </header>
        <main id="main" tabIndex={-1}>
          <View route={route} />
        </main>
      </div>
    </div>
  );
}
