import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, type Cluster } from '../lib/api';

function ago(ns: number): string {
  const seconds = ns / 1e9;
  if (seconds < 60) return `${seconds.toFixed(0)} s ago`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(0)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

export function ClustersPage() {
  const [clusters, setClusters] = useState<Cluster[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.clusters().then(setClusters, (e: Error) => setError(e.message));
  }, []);
  return (
    <div className="page">
      <h2>Clusters</h2>
      {error && (
        <div className="error-box" role="alert">
          Could not list clusters: {error}. Reload to retry.
        </div>
      )}
      {!error && clusters === null && <div className="muted">Loading clusters…</div>}
      {clusters?.length === 0 && (
        <div className="empty card">
          No clusters yet. Register one with a deploy key (Admin → Deploy keys) or run <code>make demo</code>.
        </div>
      )}
      {clusters && clusters.length > 0 && (
        <table className="simple" aria-label="Clusters">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Version</th>
              <th>Agents (instrumented / nodes)</th>
              <th>Last heartbeat</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {clusters.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>
                  <span className={`badge badge-${c.status.toLowerCase()}`} title={c.statusMessage}>
                    {c.status}
                  </span>
                </td>
                <td>{c.version || '—'}</td>
                <td>
                  {c.numInstrumentedNodes} / {c.numNodes}
                </td>
                <td>{ago(c.sinceHeartbeatNs)}</td>
                <td>
                  <Link to={`/live?cluster=${c.id}`}>Open live view</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
