import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { chunkMarkdown, firstHeading } from '../../core/knowledge/markdown-chunks.js';
import type { KbChunk, KbDoc } from '../../core/ports/knowledge-store.js';

/** Sub-folders of the runbook dir that hold no Markdown runbooks (the executor's scripts). */
const SKIPPED_DIRS = new Set(['scripts', 'node_modules']);
/** Larger files are not runbooks; they are skipped with a warning. */
export const MAX_RUNBOOK_BYTES = 512 * 1024;

export interface RunbookFile {
  /** Path relative to the runbook dir, with forward slashes. */
  rel: string;
  abs: string;
  mtimeMs: number;
  size: number;
}

/** Every `.md` file under `dir` (recursively), skipping `scripts/`, hidden folders and non-Markdown files. */
export async function listRunbookFiles(dir: string): Promise<RunbookFile[]> {
  const out: RunbookFile[] = [];
  async function walk(current: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const abs = join(current, entry.name);
      if (entry.isDirectory()) {
        if (depth < 5 && !SKIPPED_DIRS.has(entry.name)) await walk(abs, depth + 1);
      } else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) {
        const s = await stat(abs).catch(() => null);
        if (s) out.push({ rel: relative(dir, abs).split(sep).join('/'), abs, mtimeMs: s.mtimeMs, size: s.size });
      }
    }
  }
  await walk(dir, 0);
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

interface FrontMatter {
  title?: unknown;
  services?: unknown;
  tags?: unknown;
  actions?: unknown;
}

/** `--- yaml ---` at the top of a Markdown file → its data and the rest; bad YAML counts as none. */
export function splitFrontMatter(text: string): { data: FrontMatter; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return { data: {}, body: text };
  try {
    const data = parseYaml(m[1]!) as unknown;
    return { data: data && typeof data === 'object' ? (data as FrontMatter) : {}, body: text.slice(m[0].length) };
  } catch {
    return { data: {}, body: text.slice(m[0].length) };
  }
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').map((s) => s.trim()).filter(Boolean);
  return [];
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A runbook's text → its kb_doc row and chunks. */
export function runbookDocument(rel: string, text: string, now: Date): { doc: KbDoc; chunks: KbChunk[] } {
  const { data, body } = splitFrontMatter(text);
  const fallback = rel.replace(/\.md$/i, '').split('/').pop()!.replace(/[-_]+/g, ' ');
  const title = (typeof data.title === 'string' && data.title.trim()) || firstHeading(body) || fallback;
  const id = `runbook:${rel}`;
  const doc: KbDoc = {
    id, kind: 'runbook', source: rel, title: title.slice(0, 300),
    services: stringList(data.services), tags: stringList(data.tags), actions: stringList(data.actions),
    content_hash: contentHash(text), updated_at: now,
  };
  const chunks = chunkMarkdown(body, doc.title).map((c) => ({ id: `${id}#${c.ord}`, doc_id: id, ord: c.ord, heading: c.heading, body: c.body }));
  return { doc, chunks };
}

export async function readRunbook(file: RunbookFile, now: Date): Promise<{ doc: KbDoc; chunks: KbChunk[] } | null> {
  if (file.size > MAX_RUNBOOK_BYTES) return null;
  const text = await readFile(file.abs, 'utf8').catch(() => null);
  return text === null ? null : runbookDocument(file.rel, text, now);
}
