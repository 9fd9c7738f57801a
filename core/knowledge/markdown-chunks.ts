/**
 * Pure Markdown handling for the Librarian: split a document into chunks by heading, each of
 * bounded size, and summarise a closed or parked case as a document.
 */

export interface TextChunk {
  ord: number;
  /** Heading path joined with " › " (the document title first). */
  heading: string;
  body: string;
}

/** Largest chunk body in characters; longer sections split at paragraph (then line) boundaries. */
export const MAX_CHUNK_CHARS = 1200;

interface Section {
  path: string[];
  lines: string[];
}

/** The first `# Title` of a Markdown text, if any. */
export function firstHeading(markdown: string): string | null {
  const m = /^#\s+(.+?)\s*#*\s*$/m.exec(markdown);
  return m?.[1]?.trim() || null;
}

/**
 * Split Markdown into chunks: one per heading section (H1-H3 open sections; deeper headings stay
 * inside), each at most `maxChars` long. Code fences are kept intact when they fit. Empty
 * sections are dropped; a document without headings is one section under its title.
 */
export function chunkMarkdown(markdown: string, title: string, maxChars = MAX_CHUNK_CHARS): TextChunk[] {
  const sections: Section[] = [];
  let current: Section = { path: [], lines: [] };
  const stack: Array<{ level: number; text: string }> = [];
  let inFence = false;
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const h = inFence ? null : /^(#{1,3})\s+(.+?)\s*#*\s*$/.exec(line);
    if (h) {
      sections.push(current);
      const level = h[1]!.length;
      while (stack.length && stack.at(-1)!.level >= level) stack.pop();
      stack.push({ level, text: h[2]!.trim() });
      current = { path: stack.map((s) => s.text), lines: [] };
      continue;
    }
    current.lines.push(line);
  }
  sections.push(current);

  const chunks: TextChunk[] = [];
  for (const section of sections) {
    const body = section.lines.join('\n').trim();
    if (!body) continue;
    const path = section.path.length && section.path[0] === title ? section.path : [title, ...section.path];
    const heading = path.join(' › ');
    for (const piece of splitBounded(body, maxChars)) chunks.push({ ord: chunks.length, heading, body: piece });
  }
  return chunks;
}

/** Split text into pieces of at most `max` characters, preferring paragraph, then line, then word boundaries. */
export function splitBounded(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const pieces: string[] = [];
  let buffer = '';
  const flush = () => { if (buffer.trim()) pieces.push(buffer.trim()); buffer = ''; };
  for (const unit of splitUnits(text, max)) {
    if (buffer && buffer.length + unit.length + 2 > max) flush();
    buffer = buffer ? `${buffer}\n\n${unit}` : unit;
  }
  flush();
  return pieces;
}

function splitUnits(text: string, max: number): string[] {
  const units: string[] = [];
  for (const para of text.split(/\n{2,}/)) {
    if (para.length <= max) { units.push(para); continue; }
    for (const line of para.split('\n')) {
      if (line.length <= max) { units.push(line); continue; }
      let rest = line;
      while (rest.length > max) {
        const cut = rest.lastIndexOf(' ', max) > max / 2 ? rest.lastIndexOf(' ', max) : max;
        units.push(rest.slice(0, cut));
        rest = rest.slice(cut).trimStart();
      }
      if (rest) units.push(rest);
    }
  }
  return units;
}
