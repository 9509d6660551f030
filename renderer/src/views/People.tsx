// Settings → People (admin): the users with tokens of their own; add one (its token shown once),
// set a user's fair-share weight and cap, rotate a token, remove a user (asked twice where it cuts
// someone off).
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { maxShareSchema, userWeightSchema } from '../../../shared/api.js';
import { api, ApiError } from '../api.js';
import { ConfirmButton, ErrorText } from '../components.js';
import { clock, duration } from '../format.js';
import { OWNER_USER, type PersonRole } from '../session.js';
import { CopyRow, SettingsPage } from './Settings.js';

/** Mirrors `UserView` of the coordinator's users.ts. */
interface User {
  name: string;
  role: PersonRole;
  weight: number;
  maxShare?: number | null;
  /** Past slot-time fair share weighs (decayed). */
  usageMs?: number;
  createdAt: number;
  tokenAt: number;
}

const ROLES: { role: PersonRole; what: string }[] = [
  { role: 'viewer', what: 'reads jobs, results and contributors' },
  { role: 'submitter', what: 'also submits, and changes their own jobs' },
  { role: 'admin', what: 'everything, people and settings included' },
];

/** A token made just now: the only time anyone sees it. */
function NewToken({ name, token, onDone }: { name: string; token: string; onDone: () => void }) {
  return (
    <div className="card new-token" role="status" data-testid="new-token">
      <label htmlFor="new-token-value">
        <strong>{name}</strong>&apos;s token — shown this once. Give it to {name} now; it cannot be
        shown again (rotate it if it is lost).
      </label>
      <CopyRow id="new-token-value" value={token} />
      <div className="muted small">
        {name} signs in with it here, or uses it as <code>COLONY_TOKEN</code> with the CLI.
      </div>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function NumberField(p: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  max?: string;
  placeholder?: string;
}) {
  return (
    <label>
      {p.label}{' '}
      <input
        type="number"
        min="0"
        step="any"
        inputMode="decimal"
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        {...(p.max ? { max: p.max } : {})}
        {...(p.placeholder ? { placeholder: p.placeholder } : {})}
      />
    </label>
  );
}

/**
 * A user's fair-share weight and cap, edited in place: each saved by its own call (the coordinator
 * checks both and names the field it refuses), then the list reloads.
 */
function ShareEditor({ user, onDone }: { user: User; onDone: (changed: boolean) => void }) {
  const shown = {
    weight: String(user.weight),
    cap: user.maxShare ? String(Math.round(user.maxShare * 1000) / 10) : '',
  };
  const [weight, setWeight] = useState(shown.weight);
  const [cap, setCap] = useState(shown.cap);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const path = `/users/${encodeURIComponent(user.name)}`;
  // A change to either field clears the last complaint.
  const edit = (set: (v: string) => void) => (v: string) => {
    set(v);
    setError(null);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const w = Number(weight);
    const c = cap.trim() === '' ? null : Number(cap) / 100;
    // Checked here first (the coordinator's own bounds), so nothing is half-saved.
    if (!userWeightSchema.safeParse(w).success)
      return setError(new Error(`weight: ${weight} is not a number above 0 and at most 1000`));
    if (c !== null && !maxShareSchema.safeParse(c).success)
      return setError(new Error(`max share: ${cap} is not a percentage above 0 and at most 100`));
    setBusy(true);
    try {
      // Only what the person changed is sent: a cap shown rounded is not rewritten as rounded.
      if (weight !== shown.weight) await api('POST', `${path}/weight`, { weight: w });
      if (cap !== shown.cap) await api('POST', `${path}/share`, { maxShare: c });
      onDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="share-editor" onSubmit={(e) => void save(e)}>
      <NumberField label="Weight" value={weight} onChange={edit(setWeight)} />
      <NumberField
        label="Max share %"
        value={cap}
        onChange={edit(setCap)}
        max="100"
        placeholder="none"
      />
      <button type="submit" disabled={busy}>
        Save
      </button>
      <button type="button" onClick={() => onDone(false)}>
        Cancel
      </button>
      <ErrorText error={error} />
    </form>
  );
}

function AddUser({ onAdded }: { onAdded: (user: User, token: string) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<PersonRole>('submitter');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const nameIssue =
    error instanceof ApiError ? error.issues.find((i) => i.field === 'name')?.message : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    api<User & { token: string }>('POST', '/users', { name: name.trim(), role })
      .then(({ token, ...user }) => {
        setName('');
        onAdded(user, token);
      }, setError)
      .finally(() => setBusy(false));
  };
  return (
    <form className="card add-user" onSubmit={submit} aria-labelledby="add-user-title" noValidate>
      <h2 id="add-user-title">Add a person</h2>
      <div className="row">
        <div className={`field ${nameIssue ? 'invalid' : ''}`}>
          <label htmlFor="user-name">Name</label>
          <input
            id="user-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="ann"
            aria-describedby="user-name-hint"
            aria-invalid={nameIssue ? true : undefined}
          />
          <div id="user-name-hint" className={nameIssue ? 'field-error' : 'muted small'}>
            {nameIssue ?? 'Letters, digits, ".", "_" or "-"'}
          </div>
        </div>
        <div className="field">
          <label htmlFor="user-role">Role</label>
          <select
            id="user-role"
            value={role}
            onChange={(e) => setRole(e.target.value as PersonRole)}
          >
            {ROLES.map((r) => (
              <option key={r.role} value={r.role}>
                {r.role} — {r.what}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <span className="label">&nbsp;</span>
          <button type="submit" className="primary" disabled={busy || !name.trim()}>
            Add and make a token
          </button>
        </div>
      </div>
      {!nameIssue && <ErrorText error={error} />}
    </form>
  );
}

export function People() {
  return (
    <SettingsPage current="people" title="People">
      <PeopleList />
    </SettingsPage>
  );
}

function PeopleList() {
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<{ name: string; token: string } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const load = useCallback(
    () =>
      api<User[]>('GET', '/users').then((u) => {
        setUsers(u);
        setError(null);
      }, setError),
    [],
  );
  useEffect(() => void load(), [load]);
  const rotate = async (name: string) => {
    const r = await api<User & { token: string }>(
      'POST',
      `/users/${encodeURIComponent(name)}/token`,
    );
    setMade({ name, token: r.token });
    await load();
  };
  const remove = async (name: string) => {
    await api('DELETE', `/users/${encodeURIComponent(name)}`);
    if (made?.name === name) setMade(null);
    await load();
  };
  return (
    <>
      {made && <NewToken name={made.name} token={made.token} onDone={() => setMade(null)} />}
      <AddUser
        onAdded={(user, token) => {
          setMade({ name: user.name, token });
          void load();
        }}
      />
      <ErrorText error={error} />
      {users && (
        <table className="people">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col" className="num">
                Weight
              </th>
              <th scope="col" className="num">
                Max share
              </th>
              <th scope="col" className="num" title="Slot-time used lately, halved every half-life">
                Past usage
              </th>
              <th scope="col">Added</th>
              <th scope="col">Token made</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <tr data-user={OWNER_USER}>
              <td>
                <strong>{OWNER_USER}</strong>
                <div className="muted small">the coordinator&apos;s own admin token</div>
              </td>
              <td>
                <span className="badge role-admin">admin</span>
              </td>
              <td className="num">1</td>
              <td className="num">—</td>
              <td className="num">—</td>
              <td>—</td>
              <td>—</td>
              <td className="muted small">
                Rotate it under <a href="#/settings">Coordinator</a>
              </td>
            </tr>
            {users.map((u) => (
              <tr key={u.name} data-user={u.name}>
                <td>
                  <strong>{u.name}</strong>
                </td>
                <td>
                  <span className={`badge role-${u.role}`}>{u.role}</span>
                </td>
                {editing === u.name ? (
                  <td colSpan={2}>
                    <ShareEditor
                      user={u}
                      onDone={(changed) => {
                        setEditing(null);
                        if (changed) void load();
                      }}
                    />
                  </td>
                ) : (
                  <>
                    <td className="num">{u.weight}</td>
                    <td className="num">
                      {u.maxShare ? `${Math.round(u.maxShare * 100)} %` : 'none'}
                    </td>
                  </>
                )}
                <td className="num">{duration(u.usageMs ?? 0)}</td>
                <td>{clock(u.createdAt)}</td>
                <td>{clock(u.tokenAt)}</td>
                <td>
                  <div className="actions">
                    {editing !== u.name && (
                      <button type="button" onClick={() => setEditing(u.name)}>
                        Edit share
                      </button>
                    )}
                    <ConfirmButton
                      label="Rotate token"
                      confirmLabel={`Rotate ${u.name}'s token`}
                      question={`${u.name}'s current token stops working at once.`}
                      className=""
                      onConfirm={() => rotate(u.name)}
                    />
                    <ConfirmButton
                      label="Remove"
                      confirmLabel={`Remove ${u.name}`}
                      question={`${u.name} is signed out at once; their jobs stay.`}
                      onConfirm={() => remove(u.name)}
                    />
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {users?.length === 0 && (
        <p className="empty">
          Nobody but the owner yet. Add people above, or with{' '}
          <code>colony users add NAME --role submitter</code>.
        </p>
      )}
    </>
  );
}
