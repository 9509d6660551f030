// The shell: navigation, connection state, the admin-token prompt, and the current view.
import { useEffect, useState, type FormEvent } from 'react';
import { setToken, token } from './api.js';
import { useRoute, type Route } from './router.js';
import { grid, useGrid } from './store.js';
import { Contributors } from './views/Contributors.js';
import { JobDetail } from './views/JobDetail.js';
import { Jobs } from './views/Jobs.js';
import { Overview } from './views/Overview.js';
import { Panel } from './views/Panel.js';
import { Settings } from './views/Settings.js';
import { Submit } from './views/Submit.js';

const NAV: { view: Route['view']; href: string; label: string }[] = [
  { view: 'overview', href: '#/', label: 'Overview' },
  { view: 'jobs', href: '#/jobs', label: 'Jobs' },
  { view: 'submit', href: '#/submit', label: 'Submit' },
  { view: 'contributors', href: '#/contributors', label: 'Contributors' },
  { view: 'settings', href: '#/settings', label: 'Settings' },
];

function TokenPrompt({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setToken(value);
    onDone();
  };
  return (
    <form className="card token-prompt" onSubmit={submit}>
      <h2>Admin token needed</h2>
      <p>
        Open the address that <code>colony up</code> prints, or paste the admin token (
        <code>colony token admin</code> on the coordinator).
      </p>
      <label>
        Admin token
        <input type="password" value={value} onChange={(e) => setValue(e.target.value)} autoFocus />
      </label>
      <button type="submit" disabled={!value.trim()}>
        Connect
      </button>
    </form>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <Overview />;
    case 'jobs':
      return <Jobs />;
    case 'job':
      return <JobDetail id={route.id} task={route.task} />;
    case 'submit':
      return <Submit />;
    case 'contributors':
      return <Contributors />;
    case 'settings':
      return <Settings />;
    case 'panel':
      return null; // its own shell, below
  }
}

export function App() {
  const route = useRoute();
  const { status } = useGrid();
  const [hasToken, setHasToken] = useState(() => token() !== null);
  const isPanel = route.view === 'panel';
  useEffect(() => {
    if (hasToken && !isPanel) grid.start();
  }, [hasToken, isPanel]);
  // The contributor panel talks only to this computer's manager: no coordinator, no admin token.
  if (isPanel) return <Panel />;
  const needToken = !hasToken || status === 'unauthorized';
  const current = route.view === 'job' ? 'jobs' : route.view;
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">Colony</div>
        <ul>
          {NAV.map((n) => (
            <li key={n.view}>
              <a href={n.href} aria-current={current === n.view ? 'page' : undefined}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <div className={`conn conn-${status}`} role="status" aria-live="polite">
          {status === 'live' ? '● live' : status === 'connecting' ? '○ connecting…' : '○ offline'}
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        {needToken ? (
          <TokenPrompt
            onDone={() => {
              setHasToken(true);
              grid.restart();
            }}
          />
        ) : (
          <View route={route} />
        )}
      </main>
    </div>
  );
}
