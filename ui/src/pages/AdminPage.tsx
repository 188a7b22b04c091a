import type { FormEvent } from 'react';
import { useCallback, useEffect, useState } from 'react';
import { api, type Key, type KeyKind } from '../lib/api';

const TITLES: Record<KeyKind, string> = { 'api-keys': 'API keys', 'deploy-keys': 'Deploy keys' };

function KeySection({ kind }: { kind: KeyKind }) {
  const title = TITLES[kind];
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [desc, setDesc] = useState('');
  const [created, setCreated] = useState<Key | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.listKeys(kind).then(setKeys, (e: Error) => setError(e.message));
  }, [kind]);
  useEffect(load, [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await api.createKey(kind, desc));
      setDesc('');
      load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const remove = async (key: Key) => {
    setError(null);
    try {
      await api.deleteKey(kind, key.id);
      if (created?.id === key.id) setCreated(null);
      load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      <form className="inline-form" onSubmit={(e) => void create(e)}>
        <input
          aria-label={`New ${title} description`}
          placeholder="Description"
          value={desc}
          onChange={(e) => setDesc(e.target.value)}
        />
        <button className="primary" type="submit">
          Create {kind === 'api-keys' ? 'API key' : 'deploy key'}
        </button>
      </form>
      {created && (
        <div className="notice" role="status" aria-label={`New ${title}`}>
          Copy this key now, it is shown only once: <code>{created.key}</code>
          <button className="ghost" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
      {keys === null && !error && <div className="muted">Loading…</div>}
      {keys?.length === 0 && <div className="empty">No {title.toLowerCase()} yet.</div>}
      {keys && keys.length > 0 && (
        <table className="simple" aria-label={`${title} list`}>
          <thead>
            <tr>
              <th>Description</th>
              <th>Created</th>
              <th>ID</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.desc || <span className="muted">(none)</span>}</td>
                <td>{new Date(k.createdAtNs / 1e6).toLocaleString()}</td>
                <td className="mono">{k.id}</td>
                <td>
                  <button className="danger" onClick={() => void remove(k)} aria-label={`Delete ${k.desc || k.id}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function AdminPage() {
  return (
    <div className="page admin">
      <KeySection kind="api-keys" />
      <KeySection kind="deploy-keys" />
    </div>
  );
}
