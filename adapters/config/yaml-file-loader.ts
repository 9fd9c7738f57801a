import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

/** One problem in a configuration file: the dotted path of the bad field, its line, and what is wrong. */
export interface ConfigFileIssue {
  path: string;
  line: number | null;
  message: string;
}

/**
 * A configuration file that cannot be used. The message names the file and every bad field,
 * e.g. `config/policy.yml: rules.2.decision (line 31): Invalid option: expected one of …`.
 */
export class ConfigFileError extends Error {
  readonly file: string;
  readonly issues: ConfigFileIssue[];
  constructor(file: string, issues: ConfigFileIssue[], options?: { cause?: unknown }) {
    super(`${file}: ${issues.map(formatIssue).join('; ')}`, options);
    this.name = 'ConfigFileError';
    this.file = file;
    this.issues = issues;
  }
}

function formatIssue(i: ConfigFileIssue): string {
  return `${i.path}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`;
}

/** Parse YAML text and validate it with `schema`; throws ConfigFileError naming `file`. */
export function parseYamlConfig<S extends z.ZodType>(file: string, text: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => ({ path: '(yaml)', line: e.linePos?.[0]?.line ?? null, message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    return {
      path: path.length ? path.join('.') : '(root)',
      line: lineOf(doc, lineCounter, path),
      message: issue.message,
    };
  });
  throw new ConfigFileError(file, issues);
}

/** Read and validate a YAML file. A missing or unreadable file is a ConfigFileError too. */
export async function loadYamlConfig<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigFileError(file, [{ path: '(file)', line: null, message: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(err)})` }], { cause: err });
  }
  return parseYamlConfig(file, text, schema);
}

/** Line of the deepest node that exists along `path` (a missing key points at its parent). */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: (string | number)[]): number | null {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return counter.linePos(range[0]).line;
  }
  return null;
}
