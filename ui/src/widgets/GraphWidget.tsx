import { visible } from '../lib/format';
import { useEffect, useMemo, useRef } from 'react';
import cytoscape from 'cytoscape';
import type { Table } from '../lib/query';

// RequestGraph: {requestorServiceColumn, responderServiceColumn, requestorPodColumn, …};
// Graph: {adjacencyList: {fromColumn, toColumn}, edgeWeightColumn}.
interface GraphSpec {
  requestorServiceColumn?: string;
  responderServiceColumn?: string;
  requestorPodColumn?: string;
  responderPodColumn?: string;
  adjacencyList?: { fromColumn: string; toColumn: string };
  edgeWeightColumn?: string;
  throughputColumn?: string;
}

function pick(table: Table, ...names: (string | undefined)[]): number {
  for (const name of names) {
    if (!name) continue;
    const i = table.columns.findIndex((c) => c.name === name);
    if (i >= 0) return i;
  }
  return -1;
}

export function GraphWidget({ table, spec, title }: { table: Table; spec: GraphSpec; title: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const graph = useMemo(() => {
    const from = pick(table, spec.adjacencyList?.fromColumn, spec.requestorServiceColumn, spec.requestorPodColumn);
    const to = pick(table, spec.adjacencyList?.toColumn, spec.responderServiceColumn, spec.responderPodColumn);
    const weight = pick(table, spec.edgeWeightColumn, spec.throughputColumn);
    const nodes = new Set<string>();
    const edges = new Map<string, { source: string; target: string; weight: number }>();
    if (from < 0 || to < 0) return { nodes: [], edges: [] };
    for (let row = 0; row < table.numRows; row++) {
      const source = visible(String(table.data[from][row] ?? ''));
      const target = visible(String(table.data[to][row] ?? ''));
      if (!source || !target) continue;
      nodes.add(source);
      nodes.add(target);
      const id = `${source}→${target}`;
      const w = weight >= 0 ? Number(table.data[weight][row]) : 1;
      const edge = edges.get(id);
      if (edge) edge.weight += w;
      else edges.set(id, { source, target, weight: w });
    }
    return { nodes: [...nodes].sort(), edges: [...edges.values()] };
  }, [table, spec]);

  useEffect(() => {
    if (!holder.current || graph.nodes.length === 0) return undefined;
    const dark = document.documentElement.dataset.theme !== 'light';
    const cy = cytoscape({
      container: holder.current,
      elements: [
        ...graph.nodes.map((id) => ({ data: { id, label: id } })),
        ...graph.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.source, target: e.target } })),
      ],
      layout: { name: 'cose', animate: false },
      style: [
        {
          selector: 'node',
          style: {
            label: 'data(label)',
            'background-color': '#3b82f6',
            color: dark ? '#e5e7eb' : '#111827',
            'font-size': 11,
            'text-valign': 'bottom',
            'text-margin-y': 4,
          },
        },
        {
          selector: 'edge',
          style: {
            width: 2,
            'line-color': '#64748b',
            'target-arrow-color': '#64748b',
            'target-arrow-shape': 'triangle',
            'curve-style': 'bezier',
          },
        },
      ],
    });
    return () => cy.destroy();
  }, [graph]);

  if (graph.nodes.length === 0) return <div className="empty">No edges to draw yet.</div>;
  return (
    <div className="graph-widget">
      <div className="graph-canvas" ref={holder} role="img" aria-label={`${title} graph`} />
      <ul className="sr-only" aria-label={`${title} nodes`}>
        {graph.nodes.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </div>
  );
}
