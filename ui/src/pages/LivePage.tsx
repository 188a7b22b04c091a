import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useClustersAndScripts, useShortcut } from '../lib/hooks';
import { runQuery, type QueryResult } from '../lib/query';
import { execFuncs, tableForWidget, variableValues, widgetOutputName } from '../lib/vis';
import { Widget } from '../widgets/Widget';
import { ScriptPicker } from './ScriptPicker';
import type { VisWidget } from '../lib/api';

const RESERVED = new Set(['cluster', 'script', 'refresh']);

// State lives in the URL (cluster, script, each argument): every view is a deep link.
export function LivePage() {
  const { clusters, scripts, error: loadError } = useClustersAndScripts();
  const [params, setParams] = useSearchParams();
  const [result, setResult] = useState<QueryResult | null>(null);
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const clusterId =
    params.get('cluster') ?? clusters?.find((c) => c.status === 'HEALTHY')?.id ?? clusters?.[0]?.id ?? '';
  const scriptName = params.get('script') ?? 'px/http_data';
  const refreshSeconds = Number(params.get('refresh') ?? '0');
  const script = scripts?.find((s) => s.name === scriptName);
  const overrides = useMemo(() => {
    const o: Record<string, string> = {};
    params.forEach((v, k) => {
      if (!RESERVED.has(k)) o[k] = v;
    });
    return o;
  }, [params]);
  const values = useMemo(() => variableValues(script?.vis ?? null, overrides), [script, overrides]);
  const [draft, setDraft] = useState<Record<string, string>>(values);
  useEffect(() => setDraft(values), [values]);

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') next.delete(k);
      else next.set(k, v);
    }
    setParams(next);
  };

  const run = useCallback(async () => {
    if (!script || !clusterId) return;
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    try {
      const r = await runQuery(
        { clusterId, pxl: script.pxl, execFuncs: execFuncs(script.vis, values), queryName: script.name },
        controller.signal,
      );
      if (!controller.signal.aborted) setResult(r);
    } catch (e) {
      if (!controller.signal.aborted)
        setResult({ tables: [], error: { message: String(e), compilerErrors: [] }, stats: null, encryptedBatches: 0 });
    } finally {
      if (abort.current === controller) setRunning(false);
    }
  }, [script, clusterId, values]);

  useEffect(() => {
    void run();
  }, [run]);
  useEffect(() => {
    if (!refreshSeconds) return undefined;
    const timer = setInterval(() => void run(), refreshSeconds * 1000);
    return () => clearInterval(timer);
  }, [refreshSeconds, run]);
  useShortcut('enter', () => {
    const changed = Object.fromEntries(Object.entries(draft).filter(([k, v]) => v !== values[k]));
    if (Object.keys(changed).length) update(changed);
    else void run();
  });

  if (loadError)
    return (
      <div className="page">
        <div className="error-box" role="alert">
          {loadError}. Reload to retry.
        </div>
      </div>
    );
  if (!clusters || !scripts) return <div className="page muted">Loading…</div>;
  if (clusters.length === 0) return <div className="page empty card">No cluster is connected yet.</div>;

  const widgets: VisWidget[] =
    script?.vis?.widgets ??
    (result?.tables ?? []).map((t) => ({
      name: t.name,
      tableOutputName: t.name,
      displaySpec: { '@type': 'types.px.dev/px.vispb.Table' },
    }));

  return (
    <div className="page live">
      <div className="toolbar">
        <label>
          Cluster
          <select value={clusterId} onChange={(e) => update({ cluster: e.target.value })}>
            {clusters.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.status})
              </option>
            ))}
          </select>
        </label>
        <ScriptPicker
          scripts={scripts}
          value={scriptName}
          onPick={(name) => {
            const next = new URLSearchParams();
            if (params.get('cluster')) next.set('cluster', params.get('cluster')!);
            next.set('script', name);
            setParams(next);
          }}
        />
        {(script?.vis?.variables ?? []).map((variable) => (
          <label key={variable.name} title={variable.description}>
            {variable.name}
            <input
              value={draft[variable.name] ?? ''}
              onChange={(e) => setDraft({ ...draft, [variable.name]: e.target.value })}
              onKeyDown={(e) => {
                if (e.key === 'Enter') update({ [variable.name]: (e.target as HTMLInputElement).value });
              }}
              onBlur={(e) => {
                if (e.target.value !== values[variable.name]) update({ [variable.name]: e.target.value });
              }}
            />
          </label>
        ))}
        <label>
          Auto-refresh
          <select
            value={String(refreshSeconds)}
            onChange={(e) => update({ refresh: e.target.value === '0' ? null : e.target.value })}
          >
            <option value="0">off</option>
            <option value="10">10 s</option>
            <option value="30">30 s</option>
            <option value="60">60 s</option>
          </select>
        </label>
        <button className="primary" onClick={() => void run()} disabled={running}>
          {running ? 'Running…' : 'Run'} <span className="kbd">Ctrl ⏎</span>
        </button>
      </div>
      {!script && (
        <div className="error-box" role="alert">
          Unknown script {scriptName}. Pick one from the list.
        </div>
      )}
      {script && <p className="muted">{script.short}</p>}
      {result?.error && (
        <div className="error-box" role="alert">
          The query failed: {result.error.message}
        </div>
      )}
      {result === null && running && <div className="muted">Running {scriptName}…</div>}
      {result && !result.error && (
        <div className="grid">
          {widgets.map((widget, index) => {
            const title = widgetOutputName(widget, index);
            return (
              <Widget
                key={`${scriptName}-${title}`}
                widget={widget}
                table={tableForWidget(widget, index, result.tables)}
                title={title}
              />
            );
          })}
        </div>
      )}
      {result?.stats && (
        <div className="muted small">
          {result.stats.recordsProcessed.toLocaleString()} records in {(result.stats.executionNs / 1e6).toFixed(0)} ms ·{' '}
          {result.encryptedBatches} encrypted batches decrypted in the browser
        </div>
      )}
    </div>
  );
}
