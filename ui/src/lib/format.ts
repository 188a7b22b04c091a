import type { Cell } from './rowbatch';
import type { ColumnInfo } from './query';

const NS_PER_MS = 1e6;

function duration(ns: number): string {
  if (Math.abs(ns) >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (Math.abs(ns) >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (Math.abs(ns) >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns} ns`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatCell(value: Cell | undefined, column: ColumnInfo): string {
  if (value === undefined) return '';
  if (typeof value !== 'number') return String(value);
  if (column.type === 'TIME64NS') return new Date(value / NS_PER_MS).toISOString().replace('T', ' ').replace('Z', '');
  switch (column.semanticType) {
    case 'ST_DURATION_NS':
      return duration(value);
    case 'ST_BYTES':
      return bytes(value);
    case 'ST_PERCENT':
      return `${(value * 100).toFixed(2)} %`;
    default:
      break;
  }
  if (column.type === 'FLOAT64') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return String(value);
}
