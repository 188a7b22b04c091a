// A decoder for px.api.vizierpb.RowBatchData (the plaintext inside each JWE), written against
// the proto's field numbers: RowBatchData{cols=1, num_rows=2, eow=3, eos=4, table_id=5},
// Column oneof {boolean=1, int64=2, uint128=3, time64ns=4, float64=5, string=6}.

export type Cell = number | string | boolean;

export interface DecodedBatch {
  tableId: string;
  numRows: number;
  eos: boolean;
  cols: Cell[][];
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}

  // Varints as a JS number (exact up to 2^53; int64 nanosecond times lose only sub-µs bits).
  varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.buf[this.pos++]!;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >> 4;
      } else hi |= (byte & 0x7f) << (shift - 32);
      shift += 7;
    } while (byte & 0x80 && shift < 70);
    lo >>>= 0;
    if (hi & 0x80000000) {
      // Negative int64 (two's complement).
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
      return -(hi * 4294967296 + lo + 1);
    }
    return (hi >>> 0) * 4294967296 + lo;
  }

  // A uint64 varint as BigInt (UINT128 halves must be exact).
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte & 0x80);
    return result;
  }

  bytes(): Uint8Array {
    const length = this.varint();
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos += this.varint();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

const utf8 = new TextDecoder();

function repeatedScalar(r: Reader, kind: number): Cell[] {
  // Field 1 of each column message; proto3 packs scalars, but unpacked is accepted too.
  const out: Cell[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    const wire = tag & 7;
    if (tag >>> 3 !== 1) {
      r.skip(wire);
      continue;
    }
    if (kind === 6) {
      out.push(utf8.decode(r.bytes()));
    } else if (kind === 3) {
      const length = r.varint();
      const end = r.pos + length;
      let low = 0n;
      let high = 0n;
      const inner = new Reader(r.buf, end);
      inner.pos = r.pos;
      while (inner.pos < end) {
        const t = inner.varint();
        if (t >>> 3 === 1 && (t & 7) === 0) low = inner.varintBig();
        else if (t >>> 3 === 2 && (t & 7) === 0) high = inner.varintBig();
        else inner.skip(t & 7);
      }
      r.pos = end;
      out.push(((high << 64n) | low).toString(16).padStart(32, '0'));
    } else if (wire === 2) {
      const length = r.varint();
      const end = r.pos + length;
      if (kind === 5) {
        const view = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, length);
        for (let i = 0; i < length; i += 8) out.push(view.getFloat64(i, true));
        r.pos = end;
      } else {
        while (r.pos < end) {
          const v = r.varint();
          out.push(kind === 1 ? v !== 0 : v);
        }
      }
    } else if (wire === 1 && kind === 5) {
      const view = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 8);
      out.push(view.getFloat64(0, true));
      r.pos += 8;
    } else {
      const v = r.varint();
      out.push(kind === 1 ? v !== 0 : v);
    }
  }
  return out;
}

function column(buf: Uint8Array): Cell[] {
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if ((tag & 7) === 2 && field >= 1 && field <= 6) {
      const body = r.bytes();
      return repeatedScalar(new Reader(body), field);
    }
    r.skip(tag & 7);
  }
  return [];
}

export function decodeRowBatch(buf: Uint8Array): DecodedBatch {
  const r = new Reader(buf);
  const batch: DecodedBatch = { tableId: '', numRows: 0, eos: false, cols: [] };
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) batch.cols.push(column(r.bytes()));
    else if (field === 2 && wire === 0) batch.numRows = r.varint();
    else if (field === 4 && wire === 0) batch.eos = r.varint() !== 0;
    else if (field === 5 && wire === 2) batch.tableId = utf8.decode(r.bytes());
    else r.skip(wire);
  }
  return batch;
}
