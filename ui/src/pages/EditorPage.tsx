import { useCallback, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { monaco } from '../lib/monaco';
import { useClustersAndScripts, useShortcut } from '../lib/hooks';
import { runQuery, type QueryResult } from '../lib/query';
import { TableWidget } from '../widgets/TableWidget';
import { Widget } from '../widgets/Widget';
import { execFuncs, tableForWidget, variableValues, widgetOutputName } from '../lib/vis';
import { ScriptPicker } from './ScriptPicker';

const STARTER = `import px

df = px.DataFrame(table='http_events', start_time='-5m')
df = df[['time_', 'req_path', 'resp_status', 'latency']]
px.display(df, 'http')
`;

export default function EditorPage() {
  const { clusters, scripts, error: loadError } = useClustersAndScripts();
  const [params, setParams] = useSearchParams();
  const holder = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const [result, setResult] = useState<QueryResult | null>(null);
  const [running, setRunning] = useState(false);
  const clusterId = params.get('cluster') ?? clusters?.find((c) => c.status === 'HEALTHY')?.id ?? '';
  const scriptName = params.get('script') ?? '';
  const runRef = useRef<() => void>(() => undefined);
  // A script opened from the library keeps its vis spec: the edited text runs with the spec's
  // functions (default arguments) and the results show in its widgets, as in the live view.
  const vis = scripts?.find((s) => s.name === scriptName)?.vis ?? null;

  useEffect(() => {
    if (!holder.current) return undefined;
    const dark = document.documentElement.dataset.theme !== 'light';
    const instance = monaco.editor.create(holder.current, {
      value: STARTER,
      language: 'python',
      theme: dark ? 'vs-dark' : 'vs',
      minimap: { enabled: false },
      automaticLayout: true,
      fontSize: 13,
      scrollBeyondLastLine: false,
      ariaLabel: 'PxL script',
    });
    instance.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => runRef.current());
    editor.current = instance;
    return () => instance.dispose();
  }, []);

  useEffect(() => {
    const script = scripts?.find((s) => s.name === scriptName);
    if (script && editor.current) editor.current.setValue(script.pxl);
  }, [scripts, scriptName]);

  const run = useCallback(async () => {
    const instance = editor.current;
    const model = instance?.getModel();
    if (!instance || !model || !clusterId) return;
    monaco.editor.setModelMarkers(model, 'pxl', []);
    setRunning(true);
    try {
      const r = await runQuery({
        clusterId,
        pxl: instance.getValue(),
        queryName: 'editor',
        ...(vis ? { execFuncs: execFuncs(vis, variableValues(vis, {})) } : {}),
      });
      setResult(r);
      monaco.editor.setModelMarkers(
        model,
        'pxl',
        (r.error?.compilerErrors ?? []).map((e) => ({
          severity: monaco.MarkerSeverity.Error,
          message: e.message,
          startLineNumber: Math.max(1, e.line),
          startColumn: Math.max(1, e.column),
          endLineNumber: Math.max(1, e.line),
          endColumn: model.getLineMaxColumn(Math.min(Math.max(1, e.line), model.getLineCount())),
        })),
      );
    } finally {
      setRunning(false);
    }
  }, [clusterId, vis]);
  runRef.current = () => void run();
  useShortcut('enter', () => void run());

  return (
    <div className="page editor-page">
      <div className="toolbar">
        <label>
          Cluster
          <select
            value={clusterId}
            onChange={(e) => setParams({ ...Object.fromEntries(params), cluster: e.target.value })}
          >
            {(clusters ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.status})
              </option>
            ))}
          </select>
        </label>
        {scripts && (
          <ScriptPicker
            scripts={scripts}
            value={scriptName}
            onPick={(name) => setParams({ ...Object.fromEntries(params), script: name })}
          />
        )}
        <button className="primary" onClick={() => void run()} disabled={running || !clusterId}>
          {running ? 'Running…' : 'Run'} <span className="kbd">Ctrl ⏎</span>
        </button>
      </div>
      {loadError && (
        <div className="error-box" role="alert">
          {loadError}
        </div>
      )}
      <div className="editor card" ref={holder} />
      {result?.error && (
        <div className="error-box" role="alert">
          <div>The script failed: {result.error.compilerErrors.length ? 'compile errors' : result.error.message}</div>
          {result.error.compilerErrors.length > 0 && (
            <ul aria-label="Compile errors">
              {result.error.compilerErrors.map((e, i) => (
                <li key={i}>
                  Line {e.line}, column {e.column}: {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {result && !result.error && result.tables.length === 0 && (
        <div className="empty">The script displayed no tables.</div>
      )}
      {result && !result.error && vis?.widgets && (
        <div className="grid">
          {vis.widgets.map((widget, index) => {
            const title = widgetOutputName(widget, index);
            return (
              <Widget key={title} widget={widget} table={tableForWidget(widget, index, result.tables)} title={title} />
            );
          })}
        </div>
      )}
      {!vis?.widgets &&
        result?.tables.map((t) => (
          <section className="card widget" key={t.id} aria-label={t.name}>
            <h3>{t.name}</h3>
            <TableWidget table={t} title={t.name} />
          </section>
        ))}
    </div>
  );
}
