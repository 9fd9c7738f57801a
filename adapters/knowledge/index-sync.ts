import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import type { KbChunk, KbDoc, KnowledgeStore } from '../../core/ports/knowledge-store.js';
import type { Bm25Index } from './bm25-index.js';
import type { LibrarianLogger, SyncReport } from './librarian-types.js';
import { listRunbookFiles, readRunbook, type RunbookFile } from './runbook-files.js';

export interface IndexSyncOptions {
  kb: KnowledgeStore;
  index: Bm25Index;
  /** Folder of Markdown runbooks; absent → runbooks are not indexed. */
  runbookDir?: string | undefined;
  logger: LibrarianLogger;
  /** Period of the runbook mtime scan and the store refresh. */
  scanIntervalMs: number;
  /** Also react to fs.watch events (debounced); default true. */
  watchFiles?: boolean | undefined;
  now: () => Date;
  /** Called when a sync added, changed or removed runbooks (start background embedding). */
  onIndexed: () => void;
}

/**
 * Keeps the in-process index in step with the knowledge store and the runbook folder: a full
 * reload at start-up, runbook syncs (mtime scan, fs.watch, periodic tick) and store refreshes
 * that pick up other processes' writes. Every change to the index runs through `serial`.
 */
export class IndexSync {
  readonly docs = new Map<string, KbDoc>();
  private readonly kb: KnowledgeStore;
  private readonly index: Bm25Index;
  private readonly runbookDir: string | undefined;
  private readonly logger: LibrarianLogger;
  private readonly fileStats = new Map<string, { mtimeMs: number; size: number }>();
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  /** Syncs never overlap. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: IndexSyncOptions) {
    this.kb = options.kb;
    this.index = options.index;
    this.runbookDir = options.runbookDir ? resolve(options.runbookDir) : undefined;
    this.logger = options.logger;
  }

  /** Build the index from the store, sync the runbook folder, then keep watching it. */
  async start(): Promise<SyncReport> {
    await this.serial(() => this.reloadFromStore(true));
    const report = await this.syncRunbooks();
    this.timer = setInterval(() => { void this.tick(); }, this.options.scanIntervalMs);
    this.timer.unref();
    if (this.runbookDir && this.options.watchFiles !== false) this.startWatcher(this.runbookDir);
    return report;
  }

  /** Stop scanning and watching; resolves when the sync in progress is done. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    this.timer = null;
    this.watcher = null;
    await this.idle();
  }

  /** Resolves when the queued syncs are done. */
  async idle(): Promise<void> {
    await this.chain.catch(() => undefined);
  }

  /**
   * Compare the runbook folder with the store: index new and changed files, drop deleted ones.
   * `onProgress` hears (files looked at, files in the folder) after each file.
   */
  syncRunbooks(onProgress?: (done: number, total: number) => void): Promise<SyncReport> {
    return this.serial(async () => {
      const report: SyncReport = { added: 0, updated: 0, removed: 0, unchanged: 0 };
      if (!this.runbookDir) return report;
      const files = await listRunbookFiles(this.runbookDir);
      const seen = new Set<string>();
      for (const [i, file] of files.entries()) {
        const id = `runbook:${file.rel}`;
        seen.add(id);
        const known = this.docs.get(id);
        const stat = this.fileStats.get(id);
        if (known && stat && stat.mtimeMs === file.mtimeMs && stat.size === file.size) report.unchanged++;
        else report[await this.indexRunbookFile(file, known)]++;
        onProgress?.(i + 1, files.length);
      }
      for (const [id, doc] of this.docs) {
        if (doc.kind !== 'runbook' || seen.has(id)) continue;
        await this.kb.deleteDoc(id);
        this.index.removeDoc(id);
        this.docs.delete(id);
        this.fileStats.delete(id);
        report.removed++;
      }
      if (report.added || report.updated || report.removed) {
        this.logger.info({ ...report, dir: this.runbookDir }, 'runbooks indexed');
        this.options.onIndexed();
      }
      return report;
    });
  }

  /** Drop everything the store holds for runbooks and index the folder again (npm run kb:reindex). */
  async reindex(onProgress?: (done: number, total: number) => void): Promise<SyncReport> {
    await this.serial(async () => {
      for (const doc of await this.kb.listDocs()) if (doc.kind === 'runbook') await this.kb.deleteDoc(doc.id);
      this.fileStats.clear();
      await this.reloadFromStore(true);
    });
    return this.syncRunbooks(onProgress);
  }

  private async indexRunbookFile(file: RunbookFile, known: KbDoc | undefined): Promise<'added' | 'updated' | 'unchanged'> {
    const parsed = await readRunbook(file, this.options.now());
    if (!parsed) {
      this.logger.warn({ file: file.rel, bytes: file.size }, 'runbook skipped (unreadable or larger than the limit)');
      return 'unchanged';
    }
    this.fileStats.set(parsed.doc.id, { mtimeMs: file.mtimeMs, size: file.size });
    if (known && known.content_hash === parsed.doc.content_hash) return 'unchanged';
    await this.kb.putDoc(parsed.doc, parsed.chunks);
    this.applyDoc(parsed.doc, parsed.chunks);
    return known ? 'updated' : 'added';
  }

  /** Load documents from the store whose hash differs from what is indexed (all when `full`). */
  private async reloadFromStore(full: boolean): Promise<void> {
    const stored = await this.kb.listDocs();
    const storedIds = new Set(stored.map((d) => d.id));
    const changed = stored.filter((d) => full || this.docs.get(d.id)?.content_hash !== d.content_hash);
    if (changed.length) {
      const chunks = await this.kb.listChunks(full ? undefined : changed.map((d) => d.id));
      const byDoc = new Map<string, KbChunk[]>();
      for (const c of chunks) (byDoc.get(c.doc_id) ?? byDoc.set(c.doc_id, []).get(c.doc_id)!).push(c);
      for (const doc of changed) this.applyDoc(doc, byDoc.get(doc.id) ?? []);
    }
    for (const id of [...this.docs.keys()]) {
      if (!storedIds.has(id)) { this.index.removeDoc(id); this.docs.delete(id); }
    }
  }

  /** Put a document (already in the store) into the in-process index. */
  applyDoc(doc: KbDoc, chunks: readonly KbChunk[]): void {
    this.docs.set(doc.id, doc);
    this.index.putDoc(doc, chunks);
  }

  private async tick(): Promise<void> {
    try {
      await this.serial(() => this.reloadFromStore(false));
      await this.syncRunbooks();
    } catch (err) {
      this.logger.error({ err }, 'knowledge base refresh failed; retrying at the next scan');
    }
  }

  private startWatcher(dir: string): void {
    try {
      this.watcher = watch(dir, { recursive: true }, () => {
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => { void this.tick(); }, 200);
        this.debounce.unref();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = null; });
    } catch {
      this.watcher = null; // the periodic scan still notices changes
    }
  }

  /** Run `work` after every queued sync; changes to the index never overlap. */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
