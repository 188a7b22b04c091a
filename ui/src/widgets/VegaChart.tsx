import { useEffect, useRef, useState } from 'react';
import { parse, View } from 'vega';
import { expressionInterpreter } from 'vega-interpreter';
import { compile, type TopLevelSpec } from 'vega-lite';

// Vega's expressions run through its interpreter (ast mode): no eval, so the strict CSP holds.
export function VegaChart({ spec, label }: { spec: TopLevelSpec; label: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!holder.current) return undefined;
    let view: View | null = null;
    try {
      const vega = compile(spec).spec;
      view = new View(parse(vega, undefined, { ast: true }), {
        expr: expressionInterpreter,
        renderer: 'svg',
        container: holder.current,
        hover: true,
      });
      view.runAsync().catch((e: unknown) => setError(String(e)));
    } catch (e) {
      setError(String(e));
    }
    return () => {
      view?.finalize();
    };
  }, [spec]);
  if (error)
    return (
      <div className="error-box" role="alert">
        Chart failed: {error}
      </div>
    );
  return <div className="vega-chart" ref={holder} role="img" aria-label={label} />;
}
