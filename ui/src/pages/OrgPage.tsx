import type { FormEvent } from 'react';
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, type Org } from '../lib/api';

export function OrgPage({ admin }: { admin: boolean }) {
  const [org, setOrg] = useState<Org | null>(null);
  const [ideName, setIdeName] = useState('');
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.org().then(setOrg, (e: unknown) => setError(errorText(e)));
  }, []);
  useEffect(load, [load]);

  const act = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const addIde = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      await api.addIdeConfig(ideName, path);
      setIdeName('');
      setPath('');
    });
  };

  return (
    <div className="page admin">
      <section className="card" aria-label="Organization">
        <h2>Organization</h2>
        {error && (
          <div className="error-box" role="alert">
            {error}
          </div>
        )}
        {!org && !error && <div className="muted">Loading…</div>}
        {org && (
          <dl className="facts">
            <dt>Name</dt>
            <dd>{org.name}</dd>
            <dt>Domain</dt>
            <dd>{org.domainName || <span className="muted">(none)</span>}</dd>
            <dt>ID</dt>
            <dd className="mono">{org.id}</dd>
            <dt>Approvals</dt>
            <dd>
              <label className="check">
                <input
                  type="checkbox"
                  checked={org.enableApprovals}
                  disabled={!admin}
                  onChange={(e) => void act(() => api.setApprovals(e.target.checked))}
                />
                New members need an admin&apos;s approval
              </label>
            </dd>
          </dl>
        )}
      </section>
      {org && (
        <section className="card" aria-label="IDE links">
          <h2>IDE links</h2>
          <p className="muted small">
            Open source locations in an editor: a URL template with {'{{path}}'}, {'{{line}}'} and {'{{symbol}}'}.
          </p>
          {org.ideConfigs.length === 0 && <div className="empty">No IDE links yet.</div>}
          {org.ideConfigs.length > 0 && (
            <table className="simple" aria-label="IDE links list">
              <tbody>
                {org.ideConfigs.map((c) => (
                  <tr key={c.ideName}>
                    <td>{c.ideName}</td>
                    <td className="mono">{c.path}</td>
                    <td>
                      {admin && (
                        <button
                          className="danger"
                          aria-label={`Delete ${c.ideName}`}
                          onClick={() => void act(() => api.deleteIdeConfig(c.ideName))}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {admin && (
            <form className="inline-form" onSubmit={addIde}>
              <input
                aria-label="IDE name"
                placeholder="vscode"
                value={ideName}
                onChange={(e) => setIdeName(e.target.value)}
                required
              />
              <input
                aria-label="IDE path template"
                placeholder="vscode://file/{{path}}:{{line}}"
                value={path}
                onChange={(e) => setPath(e.target.value)}
                required
              />
              <button className="primary" type="submit">
                Add IDE link
              </button>
            </form>
          )}
        </section>
      )}
    </div>
  );
}
