import { visible } from '../lib/format';
import { useEffect, useMemo, useRef } from 'react';
import { select } from 'd3-selection';
import { flamegraph } from 'd3-flame-graph';
import 'd3-flame-graph/dist/d3-flamegraph.css';
import type { Table } from '../lib/query';

interface FlameSpec {
  stacktraceColumn?: string;
  countColumn?: string;
}

interface Frame {
  name: string;
  value: number;
  children: Frame[];
}

// Stacks come as "root;caller;callee" strings with a sample count.
export function FlameWidget({ table, spec, title }: { table: Table; spec: FlameSpec; title: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const root = useMemo(() => {
    const stackCol = table.columns.findIndex((c) => c.name === (spec.stacktraceColumn ?? 'stack_trace'));
    const countCol = table.columns.findIndex((c) => c.name === (spec.countColumn ?? 'count'));
    const top: Frame = { name: 'all', value: 0, children: [] };
    if (stackCol < 0) return top;
    for (let row = 0; row < table.numRows; row++) {
      const count = countCol >= 0 ? Number(table.data[countCol][row]) : 1;
      let node = top;
      node.value += count;
      for (const name of visible(String(table.data[stackCol][row])).split(';')) {
        let child = node.children.find((c) => c.name === name);
        if (!child) {
          child = { name, value: 0, children: [] };
          node.children.push(child);
        }
        child.value += count;
        node = child;
      }
    }
    return top;
  }, [table, spec]);

  useEffect(() => {
    if (!holder.current || root.value === 0) return;
    const width = holder.current.clientWidth || 800;
    const chart = flamegraph().width(width).cellHeight(18).transitionDuration(0).minFrameSize(1);
    select(holder.current).selectAll('*').remove();
    select(holder.current).datum(root).call(chart);
  }, [root]);

  if (root.value === 0) return <div className="empty">No stack samples in this window.</div>;
  return <div className="flame" ref={holder} role="img" aria-label={`${title} flamegraph`} />;
}
