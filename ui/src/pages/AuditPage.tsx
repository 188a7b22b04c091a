import type { FormEvent } from 'react';
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { visible } from '../lib/format';
import { api, errorText, type AuditPage as Page } from '../lib/api';

const PAGE_SIZE = 25;
const ACTIONS = [
  '',
  'login',
  'credential.check',
  'apikey.create',
  'apikey.delete',
  'apikey.use',
  'vizier.register',
  'org.invite_token',
  'plugin.enable',
];

// The org's security events, newest first; the filter and page live in the URL.
export function AuditPage() {
  const [params, setParams] = useSearchParams();
  const action = params.get('action') ?? '';
  const offset = Math.max(0, Number(params.get('offset') ?? '0') || 0);
  const [draft, setDraft] = useState(action);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setError(null);
    api.audit({ action, offset, limit: PAGE_SIZE }).then(
      (p) => live && setPage(p),
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [action, offset]);

  const go = (next: { action?: string; offset?: number }) => {
    const query = new URLSearchParams();
    const a = next.action ?? action;
    const o = next.offset ?? offset;
    if (a) query.set('action', a);
    if (o) query.set('offset', String(o));
    setParams(query);
  };
  const filter = (event: FormEvent) => {
    event.preventDefault();
    go({ action: draft.trim(), offset: 0 });
  };

  return (
    <div className="page admin">
      <section className="card" aria-label="Audit log">
        <h2>Audit log</h2>
        <form className="inline-form" onSubmit={filter}>
          <input
            aria-label="Action filter"
            list="audit-actions"
            placeholder="action (empty: all)"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <datalist id="audit-actions">
            {ACTIONS.filter(Boolean).map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <button className="primary" type="submit">
            Filter
          </button>
        </form>
        {error && (
          <div className="error-box" role="alert">
            {error}
          </div>
        )}
        {!page && !error && <div className="muted">Loading…</div>}
        {page && page.events.length === 0 && <div className="empty">No events{action ? ` for ${action}` : ''}.</div>}
        {page && page.events.length > 0 && (
          <table className="simple" aria-label="Audit events">
            <thead>
              <tr>
                <th>Time</th>
                <th>Action</th>
                <th>Outcome</th>
                <th>Actor</th>
                <th>Target</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {page.events.map((e, i) => (
                <tr key={`${e.atNs}-${i}`}>
                  <td className="mono">{new Date(e.atNs / 1e6).toISOString().replace('T', ' ').slice(0, 19)}</td>
                  <td>{e.action}</td>
                  <td>
                    <span
                      className={`badge badge-${e.outcome === 'allowed' || e.outcome === 'applied' ? 'healthy' : 'unhealthy'}`}
                    >
                      {e.outcome}
                    </span>
                  </td>
                  <td className="mono">{visible(e.actor)}</td>
                  <td className="mono">{visible(e.target)}</td>
                  <td>{visible(e.reason)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page && (
          <div className="inline-form" aria-label="Pages">
            <button
              className="secondary"
              disabled={offset === 0}
              onClick={() => go({ offset: Math.max(0, offset - PAGE_SIZE) })}
            >
              Newer
            </button>
            <span className="muted" aria-label="Audit range">
              {page.events.length ? `${offset + 1}–${offset + page.events.length}` : '0'}
            </span>
            <button className="secondary" disabled={!page.hasMore} onClick={() => go({ offset: offset + PAGE_SIZE })}>
              Older
            </button>
          </div>
        )}
      </section>
    </div>
  );
}
