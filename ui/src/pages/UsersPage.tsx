import type { FormEvent } from 'react';
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, type Member } from '../lib/api';

// Members of the org, invites by email (a one-use link) and open invite tokens.
export function UsersPage({ admin, me }: { admin: boolean; me: string }) {
  const [users, setUsers] = useState<Member[] | null>(null);
  const [email, setEmail] = useState('');
  const [link, setLink] = useState<{ email: string; inviteLink: string } | null>(null);
  const [token, setToken] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.users().then(setUsers, (e: unknown) => setError(errorText(e)));
  }, []);
  useEffect(load, [load]);

  const act = async (action: () => Promise<unknown>) => {
    setError(null);
    setNotice(null);
    try {
      await action();
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const invite = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      setLink(await api.invite(email));
      setEmail('');
    });
  };

  return (
    <div className="page admin">
      <section className="card" aria-label="Members">
        <h2>Members</h2>
        {error && (
          <div className="error-box" role="alert">
            {error}
          </div>
        )}
        {users === null && !error && <div className="muted">Loading…</div>}
        {users && (
          <table className="simple" aria-label="Members list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Approved</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>{`${u.firstName} ${u.lastName}`.trim() || <span className="muted">(none)</span>}</td>
                  <td>{u.email}</td>
                  <td>
                    {admin && u.id !== me ? (
                      <label className="check">
                        <input
                          type="checkbox"
                          checked={u.isApproved}
                          aria-label={`Approved ${u.email}`}
                          onChange={(e) => void act(() => api.setApproved(u.id, e.target.checked))}
                        />
                        {u.isApproved ? 'yes' : 'no'}
                      </label>
                    ) : u.isApproved ? (
                      'yes'
                    ) : (
                      'no'
                    )}
                  </td>
                  <td>
                    {admin && u.id !== me && (
                      <button
                        className="danger"
                        aria-label={`Remove ${u.email}`}
                        onClick={() => void act(() => api.removeUser(u.id))}
                      >
                        Remove
                      </button>
                    )}
                    {u.id === me && <span className="muted">you</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {admin && (
        <section className="card" aria-label="Invites">
          <h2>Invite people</h2>
          <form className="inline-form" onSubmit={invite}>
            <input
              type="email"
              aria-label="Invite email"
              placeholder="name@example.com"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              required
            />
            <button className="primary" type="submit">
              Invite
            </button>
          </form>
          {link && (
            <div className="notice" role="status" aria-label="Invite link">
              Send this link to {link.email}; it works once: <code>{link.inviteLink}</code>
            </div>
          )}
          <div className="inline-form">
            <button
              className="secondary"
              onClick={() => void act(async () => setToken((await api.createInviteToken()).token))}
            >
              Create an open invite token
            </button>
            <button
              className="danger"
              onClick={() =>
                void act(async () => {
                  await api.revokeInviteTokens();
                  setToken(null);
                  setLink(null);
                  setNotice('Every open invite of this org was revoked.');
                })
              }
            >
              Revoke all invites
            </button>
          </div>
          {token && (
            <div className="notice" role="status" aria-label="Invite token">
              Invite token (one use): <code>{token}</code>
            </div>
          )}
          {notice && (
            <div className="notice" role="status">
              {notice}
            </div>
          )}
        </section>
      )}
    </div>
  );
}
