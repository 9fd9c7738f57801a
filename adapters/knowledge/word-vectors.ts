import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { decodeHeader, dequantise, HEADER_BYTES, layoutOf, recordBytes, type CacheHeader } from './word-vector-format.js';

/** Decoded vectors kept in memory (most recently used words); the rest stay on disk. */
const LRU_WORDS = 4096;
/** Pieces in which the records are read to check their CRC at open. */
const CHECK_PIECE = 1 << 20;

/** A cache that is missing, damaged or built from another version of the source. */
export class WordVectorCacheError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`word-vector cache ${path}: ${reason}`);
  }
}

export interface WordVector {
  /** Unit vector (up to int8 quantisation). */
  vector: Float32Array;
  /** Frequency rank in the source corpus (0 = most frequent). */
  rank: number;
}

/**
 * Read-only access to the word-vector cache: the sorted vocabulary, offsets and ranks in memory
 * (a few MB), one 104-byte record read by offset per looked-up word, an LRU of decoded vectors.
 * `open` checks the header, the size and both CRCs, so a damaged file is refused, never half-used.
 */
export class WordVectors {
  private readonly lru = new Map<string, WordVector | null>();
  private readonly record: Buffer;

  private constructor(
    readonly path: string,
    private fd: number | null,
    readonly header: CacheHeader,
    private readonly offsets: Uint32Array,
    private readonly ranks: Uint32Array,
    private readonly table: Buffer,
    private readonly recordsAt: number,
  ) {
    this.record = Buffer.alloc(recordBytes(header.dims));
  }

  /**
   * Open and verify a cache. `source`, when given and present, must be the file the cache was
   * built from (same size and mtime); otherwise the cache is stale. Throws WordVectorCacheError.
   */
  static open(path: string, source?: string): WordVectors {
    if (endianness() !== 'LE') throw new WordVectorCacheError(path, 'the cache is little-endian and this machine is not');
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new WordVectorCacheError(path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : String(error));
    }
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      readSync(fd, head, 0, HEADER_BYTES, 0);
      const header = decodeHeader(head);
      if (typeof header === 'string') throw new WordVectorCacheError(path, header);
      const layout = layoutOf(header);
      const size = fstatSync(fd).size;
      if (size !== layout.fileBytes) throw new WordVectorCacheError(path, `${size} bytes, the header implies ${layout.fileBytes} (truncated or damaged)`);
      const index = Buffer.allocUnsafeSlow(layout.recordsAt - HEADER_BYTES); // own ArrayBuffer at offset 0: aligned views
      readSync(fd, index, 0, index.length, HEADER_BYTES);
      if (crc32(index) !== header.indexCrc) throw new WordVectorCacheError(path, 'the vocabulary does not match its checksum (damaged)');
      if (recordsCrc(fd, layout.recordsAt, size) !== header.recordsCrc) throw new WordVectorCacheError(path, 'the vectors do not match their checksum (damaged)');
      if (source) {
        const s = statOrNull(source);
        if (s && (s.size !== header.sourceSize || Math.trunc(s.mtimeMs) !== header.sourceMtimeMs)) {
          throw new WordVectorCacheError(path, 'built from another version of the word-vector package (stale)');
        }
      }
      const view = (at: number, n: number) => new Uint32Array(index.buffer, at - HEADER_BYTES, n);
      const offsets = view(layout.offsetsAt, header.count + 1);
      const ranks = view(layout.ranksAt, header.count);
      const table = index.subarray(layout.tableAt - HEADER_BYTES, layout.tableAt - HEADER_BYTES + header.tableBytes);
      return new WordVectors(path, fd, header, offsets, ranks, table, layout.recordsAt);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get dims(): number {
    return this.header.dims;
  }

  get size(): number {
    return this.header.count;
  }

  /** The word's vector and frequency rank, or null when the word is not in the vocabulary. */
  lookup(word: string): WordVector | null {
    const key = word.toLowerCase();
    const cached = this.lru.get(key);
    if (cached !== undefined) {
      this.lru.delete(key);
      this.lru.set(key, cached);
      return cached;
    }
    const at = this.find(Buffer.from(key));
    const found = at < 0 ? null : this.read(at);
    this.lru.set(key, found);
    if (this.lru.size > LRU_WORDS) this.lru.delete(this.lru.keys().next().value!);
    return found;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.lru.clear();
  }

  private find(key: Buffer): number {
    let lo = 0;
    let hi = this.header.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const cmp = this.table.compare(key, 0, key.length, this.offsets[mid]!, this.offsets[mid + 1]!);
      if (cmp === 0) return mid;
      if (cmp > 0) hi = mid - 1;
      else lo = mid + 1;
    }
    return -1;
  }

  private read(at: number): WordVector {
    if (this.fd === null) throw new Error('word vectors are closed');
    readSync(this.fd, this.record, 0, this.record.length, this.recordsAt + at * this.record.length);
    return { vector: dequantise(this.record, this.header.dims), rank: this.ranks[at]! };
  }
}

function recordsCrc(fd: number, from: number, to: number): number {
  const piece = Buffer.alloc(CHECK_PIECE);
  let crc = 0;
  for (let at = from; at < to; at += CHECK_PIECE) {
    const n = readSync(fd, piece, 0, Math.min(CHECK_PIECE, to - at), at);
    crc = crc32(piece.subarray(0, n), crc);
  }
  return crc;
}

function statOrNull(path: string): { size: number; mtimeMs: number } | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
