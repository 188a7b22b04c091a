// One query through the api's NDJSON stream, end-to-end encrypted: the page sends its public
// key, the api forwards only JWE tokens, and the rows are decrypted here.
import { jsonHeaders } from './api';
import { decryptJwe, getPageKey } from './jwe';
import type { Cell } from './rowbatch';
import { decodeRowBatch } from './rowbatch';

export interface ColumnInfo {
  name: string;
  type: string;
  semanticType: string;
}

export interface Table {
  id: string;
  name: string;
  columns: ColumnInfo[];
  data: Cell[][]; // column-major
  numRows: number;
}

export interface CompilerError {
  line: number;
  column: number;
  message: string;
}

export interface QueryError {
  message: string;
  compilerErrors: CompilerError[];
}

export interface QueryResult {
  tables: Table[];
  error: QueryError | null;
  stats: { executionNs: number; compilationNs: number; recordsProcessed: number } | null;
  encryptedBatches: number;
}

export interface ExecFunc {
  funcName: string;
  args: Record<string, string>;
  outputTablePrefix: string;
}

export interface QueryRequest {
  clusterId: string;
  pxl: string;
  execFuncs?: ExecFunc[];
  queryName?: string;
}

type Line =
  | { type: 'meta'; id: string; name: string; columns: ColumnInfo[] }
  | { type: 'jwe'; jwe: string }
  | { type: 'batch'; tableId: string; numRows: number; cols: Cell[][] }
  | { type: 'stats'; executionNs: number; compilationNs: number; recordsProcessed: number }
  | { type: 'error'; message: string; compilerErrors?: CompilerError[] }
  | { type: 'end' }
  | { type: 'other' };

export async function runQuery(request: QueryRequest, signal?: AbortSignal): Promise<QueryResult> {
  const key = await getPageKey();
  const init: RequestInit = {
    method: 'POST',
    credentials: 'same-origin',
    headers: jsonHeaders(),
    body: JSON.stringify({ ...request, encryption: { jwk: key.publicJwk } }),
  };
  if (signal) init.signal = signal;
  const response = await fetch('/api/ui/execute', init);
  const result: QueryResult = { tables: [], error: null, stats: null, encryptedBatches: 0 };
  if (!response.ok || response.body === null) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = ((await response.json()) as { error: string }).error;
    } catch {
      /* not JSON: keep the status line */
    }
    result.error = { message, compilerErrors: [] };
    return result;
  }
  const byId = new Map<string, Table>();
  const append = (tableId: string, cols: Cell[][], numRows: number) => {
    const table = byId.get(tableId);
    if (!table) return;
    cols.forEach((values, i) => {
      const target = table.data[i];
      if (!target) return;
      for (let k = 0; k < values.length; k++) target.push(values[k]);
    });
    table.numRows += numRows;
  };
  const handle = async (line: Line) => {
    switch (line.type) {
      case 'meta': {
        const table: Table = {
          id: line.id,
          name: line.name,
          columns: line.columns,
          data: line.columns.map(() => []),
          numRows: 0,
        };
        byId.set(line.id, table);
        result.tables.push(table);
        break;
      }
      case 'jwe': {
        const batch = decodeRowBatch(await decryptJwe(line.jwe, key));
        result.encryptedBatches++;
        append(batch.tableId, batch.cols, batch.numRows);
        break;
      }
      case 'batch':
        append(line.tableId, line.cols, line.numRows);
        break;
      case 'stats':
        result.stats = line;
        break;
      case 'error':
        result.error = { message: line.message, compilerErrors: line.compilerErrors ?? [] };
        break;
      default:
        break;
    }
  };
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += value;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (text.trim()) await handle(JSON.parse(text) as Line);
      newline = pending.indexOf('\n');
    }
  }
  if (pending.trim()) await handle(JSON.parse(pending) as Line);
  return result;
}
