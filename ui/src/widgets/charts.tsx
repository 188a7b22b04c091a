import { visible } from '../lib/format';
import { useMemo } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import type { Table } from '../lib/query';
import { VegaChart } from './VegaChart';

const NS_PER_MS = 1e6;

function columnIndex(table: Table, name: string | undefined): number {
  return name === undefined ? -1 : table.columns.findIndex((c) => c.name === name);
}

function timeColumn(table: Table): number {
  const named = columnIndex(table, 'time_');
  return named >= 0 ? named : table.columns.findIndex((c) => c.type === 'TIME64NS');
}

interface TimeseriesSpec {
  timeseries?: { value: string; series?: string; mode?: string }[];
  title?: string;
}

const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  width: 'container',
  height: 180,
  background: 'transparent',
  config: {
    axis: { labelColor: '#8a94a6', titleColor: '#8a94a6', gridColor: '#8a94a633' },
    legend: { labelColor: '#8a94a6', titleColor: '#8a94a6' },
    view: { stroke: null },
  },
} as const;

export function TimeseriesWidget({ table, spec, title }: { table: Table; spec: TimeseriesSpec; title: string }) {
  const vl = useMemo<TopLevelSpec | null>(() => {
    const t = timeColumn(table);
    if (t < 0) return null;
    const values: { time: number; value: number; series: string }[] = [];
    for (const series of spec.timeseries ?? []) {
      const v = columnIndex(table, series.value);
      const s = columnIndex(table, series.series);
      if (v < 0) continue;
      for (let row = 0; row < table.numRows; row++) {
        values.push({
          time: Number(table.data[t][row]) / NS_PER_MS,
          value: Number(table.data[v][row]),
          series: s >= 0 ? `${visible(String(table.data[s][row]))}` : series.value,
        });
      }
    }
    const bar = (spec.timeseries ?? []).some((s) => s.mode === 'MODE_BAR');
    return {
      ...BASE,
      data: { values },
      mark: bar ? { type: 'bar' } : { type: 'line', point: false, interpolate: 'monotone' },
      encoding: {
        x: { field: 'time', type: 'temporal', title: null },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
        // Vega's own tooltip handler sets the element's title attribute: text, never markup.
        tooltip: [
          { field: 'series', type: 'nominal', title: 'series' },
          { field: 'time', type: 'temporal', title: 'time', format: '%H:%M:%S' },
          { field: 'value', type: 'quantitative', title: 'value' },
        ],
      },
    };
  }, [table, spec]);
  if (!vl) return <div className="empty">This table has no time column to chart.</div>;
  return <VegaChart spec={vl} label={`${title} time series`} />;
}

interface BarSpec {
  bar?: { value: string; label: string; groupBy?: string; stackBy?: string; horizontal?: boolean };
}

export function BarWidget({ table, spec, title }: { table: Table; spec: BarSpec; title: string }) {
  const vl = useMemo<TopLevelSpec | null>(() => {
    const bar = spec.bar;
    if (!bar) return null;
    const v = columnIndex(table, bar.value);
    const l = columnIndex(table, bar.label);
    const g = columnIndex(table, bar.stackBy ?? bar.groupBy);
    if (v < 0 || l < 0) return null;
    const values = Array.from({ length: table.numRows }, (_, row) => ({
      label: visible(String(table.data[l][row])),
      value: Number(table.data[v][row]),
      group: g >= 0 ? visible(String(table.data[g][row])) : '',
    }));
    const category = { field: 'label', type: 'nominal', title: null, sort: '-y' };
    const measure = { field: 'value', type: 'quantitative', title: bar.value };
    return {
      ...BASE,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        ...(bar.horizontal ? { y: category, x: measure } : { x: category, y: measure }),
        ...(g >= 0 ? { color: { field: 'group', type: 'nominal', title: null } } : {}),
        tooltip: [
          { field: 'label', type: 'nominal', title: bar.label },
          ...(g >= 0 ? [{ field: 'group', type: 'nominal', title: bar.stackBy ?? bar.groupBy }] : []),
          { field: 'value', type: 'quantitative', title: bar.value },
        ],
      },
    } as TopLevelSpec;
  }, [table, spec]);
  if (!vl) return <div className="empty">The bar chart's columns are not in this table.</div>;
  return <VegaChart spec={vl} label={`${title} bar chart`} />;
}

interface StatSpec {
  stat?: { value?: string };
  value?: string;
}

export function StatWidget({ table, spec, title }: { table: Table; spec: StatSpec; title: string }) {
  const name = spec.stat?.value ?? spec.value;
  const c = columnIndex(table, name) >= 0 ? columnIndex(table, name) : table.columns.length - 1;
  const value = table.numRows > 0 ? table.data[c]?.[table.numRows - 1] : undefined;
  return (
    <div className="stat" role="status" aria-label={`${title} stat`}>
      <div className="stat-value">
        {value === undefined ? '—' : typeof value === 'number' ? value.toLocaleString() : String(value)}
      </div>
      <div className="muted">{table.columns[c]?.name ?? ''}</div>
    </div>
  );
}
