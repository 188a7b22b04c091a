import type { FormEvent } from 'react';
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, type Plugin, type PluginDetail, type RetentionScript } from '../lib/api';

// One plugin's settings. Secrets come back masked by the plugin service; an empty field
// leaves the stored value as it is, so the masked value is never sent back as a new one.
function PluginSettings({ plugin, admin, onChange }: { plugin: Plugin; admin: boolean; onChange: () => void }) {
  const [detail, setDetail] = useState<PluginDetail | null>(null);
  const [url, setUrl] = useState('');
  const [insecure, setInsecure] = useState(false);
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const load = useCallback(() => {
    api.plugin(plugin.id).then(
      (d) => {
        setDetail(d);
        setUrl(d.orgConfig?.customExportUrl ?? d.defaultExportUrl);
        setInsecure(d.orgConfig?.insecureTls ?? false);
        setValues({});
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [plugin.id]);
  useEffect(load, [load]);

  const save = async (event: FormEvent | null, enabled?: boolean) => {
    event?.preventDefault();
    setError(null);
    setSaved(false);
    try {
      // The stored (masked) values go back as they came: the service keeps what it stores.
      const configs = {
        ...(detail?.orgConfig?.configs ?? {}),
        ...Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '')),
      };
      const update =
        enabled === false
          ? { enabled: false }
          : { enabled: enabled ?? undefined, configs, customExportUrl: url, insecureTls: insecure };
      await api.updatePlugin(plugin.id, update);
      setSaved(true);
      load();
      onChange();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const title = `${plugin.name} settings`;
  return (
    <section className="card" aria-label={title}>
      <h2>
        {plugin.name}{' '}
        <span className={`badge badge-${plugin.retentionEnabled ? 'healthy' : 'degraded'}`}>
          {plugin.retentionEnabled ? `enabled ${plugin.enabledVersion}` : 'disabled'}
        </span>
      </h2>
      <p className="muted">{plugin.description}</p>
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
      {detail && (
        <form className="stack-form" onSubmit={(e) => void save(e)}>
          {detail.allowCustomExportUrl && (
            <label>
              Export URL
              <input
                aria-label="Export URL"
                value={url}
                disabled={!admin}
                onChange={(e) => setUrl(e.target.value)}
                placeholder="https://otlp.example.com:4317"
              />
            </label>
          )}
          {Object.entries(detail.configs).map(([key, description]) => (
            <label key={key}>
              {key} <span className="muted small">{description}</span>
              <input
                type="password"
                autoComplete="off"
                aria-label={`Config ${key}`}
                disabled={!admin}
                value={values[key] ?? ''}
                placeholder={detail.orgConfig?.configs[key] ?? 'not set'}
                onChange={(e) => setValues({ ...values, [key]: e.target.value })}
              />
            </label>
          ))}
          {detail.allowInsecureTls && (
            <label className="check">
              <input
                type="checkbox"
                checked={insecure}
                disabled={!admin}
                onChange={(e) => setInsecure(e.target.checked)}
              />{' '}
              Skip TLS verification
            </label>
          )}
          {detail.orgConfig && (
            <div className="muted small" aria-label="Stored secrets">
              Stored:{' '}
              {Object.entries(detail.orgConfig.configs)
                .map(([k, v]) => `${k} = ${v}`)
                .join(', ') || 'no secrets'}
            </div>
          )}
          {admin && (
            <div className="inline-form">
              {plugin.retentionEnabled ? (
                <>
                  <button className="primary" type="submit">
                    Save
                  </button>
                  <button className="danger" type="button" onClick={() => void save(null, false)}>
                    Disable
                  </button>
                </>
              ) : (
                <button className="primary" type="button" onClick={() => void save(null, true)}>
                  Enable {plugin.name}
                </button>
              )}
            </div>
          )}
          {saved && (
            <div className="notice" role="status">
              Saved.
            </div>
          )}
        </form>
      )}
    </section>
  );
}

export function PluginsPage({ admin }: { admin: boolean }) {
  const [plugins, setPlugins] = useState<Plugin[] | null>(null);
  const [scripts, setScripts] = useState<RetentionScript[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.plugins().then(setPlugins, (e: unknown) => setError(errorText(e)));
    api.retentionScripts().then(setScripts, (e: unknown) => setError(errorText(e)));
  }, []);
  useEffect(load, [load]);

  const toggle = async (script: RetentionScript, enabled: boolean) => {
    setError(null);
    try {
      await api.setRetentionScriptEnabled(script.id, enabled);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div className="page admin">
      {error && (
        <div className="error-box" role="alert">
          {error}
        </div>
      )}
      {plugins === null && !error && <div className="muted">Loading…</div>}
      {plugins?.length === 0 && <div className="empty card">This cloud offers no plugins.</div>}
      {plugins?.map((p) => (
        <PluginSettings key={p.id} plugin={p} admin={admin} onChange={load} />
      ))}
      <section className="card" aria-label="Retention scripts">
        <h2>Retention scripts</h2>
        <p className="muted small">PxL scripts the clusters run periodically; a plugin exports their output.</p>
        {scripts?.length === 0 && (
          <div className="empty">No retention scripts; enabling a plugin adds its presets.</div>
        )}
        {scripts && scripts.length > 0 && (
          <table className="simple" aria-label="Retention scripts list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Plugin</th>
                <th>Every</th>
                <th>Clusters</th>
                <th>Enabled</th>
              </tr>
            </thead>
            <tbody>
              {scripts.map((s) => (
                <tr key={s.id}>
                  <td>
                    {s.name} {s.isPreset && <span className="badge">preset</span>}
                    <div className="muted small">{s.description}</div>
                  </td>
                  <td>{s.pluginId}</td>
                  <td>{s.frequencyS} s</td>
                  <td>{s.clusterIds.length ? s.clusterIds.length : 'all'}</td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Enabled ${s.name}`}
                      checked={s.enabled}
                      disabled={!admin}
                      onChange={(e) => void toggle(s, e.target.checked)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
