import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PlanTemplateSchema, type PlanTemplate } from '../../core/schemas/plan-template.js';
import { toFieldIssues, describeIssues, type FieldIssue } from '../../core/schemas/issues.js';
import { checkTemplate } from '../../core/agents/planner.js';

/** Where templates live unless OPSLOOP_TEMPLATE_DIR says otherwise. */
export const DEFAULT_TEMPLATE_DIR = 'config/templates';

/** A template file is refused above this size (templates are a page of YAML, not data). */
const MAX_TEMPLATE_BYTES = 64 * 1024;

/** One file that failed to load, and why. */
export interface TemplateFileProblem {
  file: string;
  issues: FieldIssue[];
}

/** Start-up failure: at least one template file is invalid. The message names every file. */
export class TemplateLoadError extends Error {
  readonly problems: TemplateFileProblem[];
  constructor(dir: string, problems: TemplateFileProblem[]) {
    const lines = problems.map((p) => `  ${p.file}: ${describeIssues(p.issues)}`);
    super(`invalid ChangePlan templates in ${dir}:\n${lines.join('\n')}`);
    this.name = 'TemplateLoadError';
    this.problems = problems;
  }
}

/** Parse and check one template file's text; the name must equal the file's stem. */
export function parseTemplateFile(file: string, text: string): { ok: true; template: PlanTemplate } | { ok: false; issues: FieldIssue[] } {
  if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES) {
    return { ok: false, issues: [{ path: '(file)', message: `larger than ${MAX_TEMPLATE_BYTES} bytes` }] };
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, maxAliasCount: 50 });
  } catch (e) {
    return { ok: false, issues: [{ path: '(yaml)', message: (e as Error).message.split('\n')[0] ?? 'unparsable YAML' }] };
  }
  const parsed = PlanTemplateSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: toFieldIssues(parsed.error) };
  const stem = basename(file, extname(file));
  if (parsed.data.name !== stem) {
    return { ok: false, issues: [{ path: 'name', message: `is ${JSON.stringify(parsed.data.name)} but the file is named ${stem}; they must match` }] };
  }
  const issues = checkTemplate(parsed.data);
  return issues.length ? { ok: false, issues } : { ok: true, template: parsed.data };
}

/** The ChangePlan templates of one folder, loaded and validated once at start-up. */
export class TemplateStore {
  readonly dir: string;
  private readonly byName: ReadonlyMap<string, PlanTemplate>;

  private constructor(dir: string, templates: readonly PlanTemplate[]) {
    this.dir = dir;
    this.byName = new Map(templates.map((t) => [t.name, t]));
  }

  /**
   * Load every `*.yaml` / `*.yml` file of `dir` (default: OPSLOOP_TEMPLATE_DIR, else
   * config/templates). Throws TemplateLoadError naming every bad file, or an Error when the folder
   * is missing or holds no template.
   */
  static async load(dir: string = process.env.OPSLOOP_TEMPLATE_DIR || DEFAULT_TEMPLATE_DIR): Promise<TemplateStore> {
    const absolute = resolve(dir);
    let entries: string[];
    try {
      entries = await readdir(absolute);
    } catch (e) {
      throw new Error(`ChangePlan template folder ${absolute} cannot be read: ${(e as Error).message}`, { cause: e });
    }
    const files = entries.filter((f) => /\.ya?ml$/.test(f)).sort();
    if (!files.length) throw new Error(`ChangePlan template folder ${absolute} holds no .yaml files`);
    const templates: PlanTemplate[] = [];
    const problems: TemplateFileProblem[] = [];
    const fileOfName = new Map<string, string>();
    for (const file of files) {
      const path = join(absolute, file);
      const result = parseTemplateFile(file, await readFile(path, 'utf8'));
      if (!result.ok) {
        problems.push({ file: path, issues: result.issues });
        continue;
      }
      const earlier = fileOfName.get(result.template.name);
      if (earlier) {
        problems.push({ file: path, issues: [{ path: 'name', message: `${result.template.name} is already defined by ${earlier}` }] });
        continue;
      }
      fileOfName.set(result.template.name, path);
      templates.push(result.template);
    }
    if (problems.length) throw new TemplateLoadError(absolute, problems);
    return new TemplateStore(absolute, templates);
  }

  /** Build a store from templates already in memory (tests, embedding). Checks each like `load`. */
  static fromTemplates(templates: readonly PlanTemplate[], dir = '(memory)'): TemplateStore {
    const problems = templates.flatMap((t) => {
      const issues = checkTemplate(t);
      return issues.length ? [{ file: t.name, issues }] : [];
    });
    if (problems.length) throw new TemplateLoadError(dir, problems);
    return new TemplateStore(dir, templates);
  }

  /** All templates, sorted by name. */
  list(): PlanTemplate[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The template with this name, if any. */
  get(name: string): PlanTemplate | undefined {
    return this.byName.get(name);
  }
}
