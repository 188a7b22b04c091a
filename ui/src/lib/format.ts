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

// Captured traffic is attacker-controlled. React and the chart libraries render it as text, but
// control characters and bidirectional overrides would still act on the page: an RLO makes
// "gnp.exe" read "exe.png", an ESC or BEL has no business in a cell. They are shown as
// visible code points instead.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

export function formatCell(value: Cell | undefined, column: ColumnInfo): string {
  if (value === undefined) return '';
  if (typeof value !== 'number') return visible(String(value));
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
