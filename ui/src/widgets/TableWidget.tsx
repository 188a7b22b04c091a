import { useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Table } from '../lib/query';
import { formatCell } from '../lib/format';

const ROW_HEIGHT = 28;

// Sorting and filtering work on row indices; only the visible rows are in the DOM.
export function TableWidget({ table, title }: { table: Table; title: string }) {
  const [sort, setSort] = useState<{ column: number; descending: boolean } | null>(null);
  const [filter, setFilter] = useState('');
  const scroller = useRef<HTMLDivElement>(null);

  const rows = useMemo(() => {
    let indices = Array.from({ length: table.numRows }, (_, i) => i);
    const needle = filter.trim().toLowerCase();
    if (needle) {
      indices = indices.filter((row) =>
        table.columns.some((column, c) => formatCell(table.data[c]?.[row], column).toLowerCase().includes(needle)),
      );
    }
    if (sort) {
      const values = table.data[sort.column] ?? [];
      const sign = sort.descending ? -1 : 1;
      indices.sort((a, b) => {
        const x = values[a];
        const y = values[b];
        return (x < y ? -1 : x > y ? 1 : 0) * sign;
      });
    }
    return indices;
  }, [table, sort, filter]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const template = `repeat(${table.columns.length}, minmax(120px, 1fr))`;

  return (
    <div className="table-widget">
      <div className="table-toolbar">
        <input
          type="search"
          aria-label={`Filter ${title}`}
          placeholder="Filter rows…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <span className="muted" aria-label={`${title} row count`}>
          {rows.length.toLocaleString()} of {table.numRows.toLocaleString()} rows
        </span>
      </div>
      <div className="table-scroll" ref={scroller} role="grid" aria-label={title} aria-rowcount={rows.length + 1}>
        <div className="table-head" role="row" style={{ gridTemplateColumns: template }}>
          {table.columns.map((column, c) => (
            <button
              key={column.name}
              role="columnheader"
              className="th"
              aria-sort={sort?.column === c ? (sort.descending ? 'descending' : 'ascending') : 'none'}
              onClick={() =>
                setSort((old) =>
                  old?.column === c ? { column: c, descending: !old.descending } : { column: c, descending: false },
                )
              }
            >
              {column.name}
              {sort?.column === c ? (sort.descending ? ' ▼' : ' ▲') : ''}
            </button>
          ))}
        </div>
        {rows.length === 0 ? (
          <div className="empty">No rows{filter ? ' match the filter' : ''}.</div>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index];
              return (
                <div
                  key={item.key}
                  role="row"
                  aria-rowindex={item.index + 2}
                  className="tr"
                  style={{
                    gridTemplateColumns: template,
                    transform: `translateY(${item.start}px)`,
                    height: ROW_HEIGHT,
                  }}
                >
                  {table.columns.map((column, c) => (
                    <div role="gridcell" className="td" key={column.name}>
                      {formatCell(table.data[c]?.[row], column)}
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
        )}
      </div>
    </div>
  );
}
