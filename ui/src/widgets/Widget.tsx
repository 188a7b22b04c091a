import type { VisWidget } from '../lib/api';
import type { Table } from '../lib/query';
import { TableWidget } from './TableWidget';
import { BarWidget, StatWidget, TimeseriesWidget } from './charts';
import { GraphWidget } from './GraphWidget';
import { FlameWidget } from './FlameWidget';

// One component per vis spec kind, picked by the displaySpec's @type.
export function Widget({ widget, table, title }: { widget: VisWidget; table: Table | undefined; title: string }) {
  const spec = widget.displaySpec as Record<string, unknown>;
  const kind = widget.displaySpec['@type'].split('.').pop() ?? 'Table';
  let body;
  if (!table) body = <div className="empty">No data for this widget.</div>;
  else if (kind === 'TimeseriesChart') body = <TimeseriesWidget table={table} spec={spec} title={title} />;
  else if (kind === 'BarChart') body = <BarWidget table={table} spec={spec} title={title} />;
  else if (kind === 'RequestGraph' || kind === 'Graph') body = <GraphWidget table={table} spec={spec} title={title} />;
  else if (kind === 'StackTraceFlameGraph') body = <FlameWidget table={table} spec={spec} title={title} />;
  else if (kind === 'StatChart' || kind === 'Stat') body = <StatWidget table={table} spec={spec} title={title} />;
  else body = <TableWidget table={table} title={title} />;
  const position = widget.position;
  const style = position
    ? { gridColumn: `${position.x + 1} / span ${position.w}`, gridRow: `${position.y + 1} / span ${position.h}` }
    : { gridColumn: '1 / span 12' };
  return (
    <section className="card widget" style={style} aria-label={title}>
      <h3>{title}</h3>
      {body}
    </section>
  );
}
