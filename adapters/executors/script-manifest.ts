/**
 * The runbook script registry: `scripts.yml` in a runbook folder lists every script `script.exec`
 * may run, with a typed declaration of its arguments (compiled into a zod schema at load time)
 * and the argv layout. Nothing outside the folder, and nothing unlisted, can ever run.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PlainName } from '../../core/executor/params.js';
import { describeIssues, toFieldIssues } from '../../core/schemas/issues.js';

/** Default runbook folder, relative to the process working directory. */
export const DEFAULT_RUNBOOK_DIR = 'runbooks/scripts';
export const MANIFEST_FILE = 'scripts.yml';

const ArgName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'argument names are snake_case');
const common = { description: z.string().max(500).optional(), required: z.boolean().default(false) };

const ArgDeclSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('string'),
    ...common,
    /** Regular expression the whole value must match (anchored for you). */
    pattern: z.string().max(500).optional(),
    /** Length bounds. */
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(1).max(4096).default(256),
    default: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('int'),
    ...common,
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.number().int().optional(),
  }),
  z.strictObject({
    type: z.literal('enum'),
    ...common,
    values: z.array(z.string().min(1).max(100)).min(1),
    default: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('bool'), ...common, default: z.boolean().optional() }),
]);
export type ArgDecl = z.infer<typeof ArgDeclSchema>;

/** An argv item: a literal/template string, or a group included only when an argument is set (and not false). */
const ArgvItemSchema = z.union([
  z.string().max(1000),
  z.strictObject({ when: ArgName, argv: z.array(z.string().max(1000)).min(1) }),
]);
export type ArgvItem = z.infer<typeof ArgvItemSchema>;

const ScriptEntrySchema = z.strictObject({
  name: PlainName,
  /** Path of the script file relative to the runbook folder. */
  file: z.string().min(1).max(200),
  description: z.string().min(1).max(1000),
  args: z.record(ArgName, ArgDeclSchema).default({}),
  argv: z.array(ArgvItemSchema).default([]),
  /** Environment variables passed through from opsloop's own environment (OPSLOOP_* only). */
  env: z.array(z.string().regex(/^OPSLOOP_[A-Z0-9_]+$/, 'only OPSLOOP_* variables may be passed')).default([]),
});

const ManifestSchema = z.strictObject({
  version: z.literal(1),
  scripts: z.array(ScriptEntrySchema).max(500),
});

/** A value an argument can take after validation. */
export type ArgValue = string | number | boolean;

/** A script ready to run: its resolved file, compiled argument schema and argv layout. */
export interface RegisteredScript {
  name: string;
  description: string;
  /** Absolute, symlink-resolved path, checked to lie inside the runbook folder. */
  filePath: string;
  args: Record<string, ArgDecl>;
  argsSchema: z.ZodType<Record<string, ArgValue>>;
  argv: ArgvItem[];
  env: string[];
}

/** The loaded manifest: the folder (resolved) and its scripts by name. */
export interface ScriptRegistry {
  dir: string;
  scripts: ReadonlyMap<string, RegisteredScript>;
}

const PLACEHOLDER = /\{([a-z_][a-z0-9_]*)\}/g;
const NO_CONTROL_CHARS = /^[^\x00-\x1f\x7f]*$/;

/** Compile one argument declaration into a zod schema (strings from chat are accepted for int/bool). */
export function compileArg(decl: ArgDecl): z.ZodType<ArgValue> {
  switch (decl.type) {
    case 'string': {
      let s = z.string().max(decl.max).regex(NO_CONTROL_CHARS, 'must not contain control characters');
      if (decl.min !== undefined) s = s.min(decl.min);
      if (decl.pattern !== undefined) s = s.regex(new RegExp(`^(?:${decl.pattern})$`), `must match ${decl.pattern}`);
      return s;
    }
    case 'int': {
      let n = z.number().int();
      if (decl.min !== undefined) n = n.min(decl.min);
      if (decl.max !== undefined) n = n.max(decl.max);
      return z.union([z.number(), z.string().regex(/^-?\d{1,15}$/, 'must be an integer').transform(Number)]).pipe(n);
    }
    case 'enum':
      return z.enum(decl.values as [string, ...string[]]);
    case 'bool':
      return z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
  }
}

function compileArgs(args: Record<string, ArgDecl>): z.ZodType<Record<string, ArgValue>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, decl] of Object.entries(args)) {
    const base = compileArg(decl);
    shape[name] = decl.default !== undefined ? base.optional().default(decl.default as never) : decl.required ? base : base.optional();
  }
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, ArgValue>>;
}

/** Arguments that always have a value after parsing (required or defaulted). */
function alwaysSet(args: Record<string, ArgDecl>, name: string): boolean {
  const decl = args[name];
  return decl !== undefined && (decl.required || decl.default !== undefined);
}

function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** Check every argv placeholder names a declared argument that is sure to have a value where used. */
function checkArgv(entry: z.infer<typeof ScriptEntrySchema>): string[] {
  const problems: string[] = [];
  for (const item of entry.argv) {
    const group = typeof item === 'string' ? { when: undefined, argv: [item] } : item;
    if (group.when !== undefined && !(group.when in entry.args)) problems.push(`argv group names undeclared argument "${group.when}"`);
    for (const name of group.argv.flatMap(placeholdersOf)) {
      if (!(name in entry.args)) problems.push(`argv uses undeclared argument {${name}}`);
      else if (name !== group.when && !alwaysSet(entry.args, name))
        problems.push(`argv uses optional argument {${name}} outside a "when: ${name}" group`);
    }
  }
  return problems;
}

/** Resolve `file` inside `dir` and refuse anything that leaves it (absolute, "..", symlinks out). */
export async function resolveInside(dir: string, file: string): Promise<string> {
  if (path.isAbsolute(file) || file.includes('\\') || file.split('/').some((seg) => seg === '..' || seg === '')) {
    throw new Error(`file "${file}" must be a relative path inside the runbook folder`);
  }
  const resolved = await realpath(path.join(dir, file));
  if (!resolved.startsWith(dir + path.sep)) throw new Error(`file "${file}" resolves outside the runbook folder`);
  if (!(await stat(resolved)).isFile()) throw new Error(`file "${file}" is not a regular file`);
  await access(resolved, fsConstants.X_OK).catch(() => {
    throw new Error(`file "${file}" is not executable (chmod +x)`);
  });
  return resolved;
}

/**
 * Load and check `scripts.yml` in `dir`. Throws with every problem listed when the manifest is
 * invalid (a start-up error: better to refuse to start than to run the wrong thing).
 */
export async function loadScriptRegistry(dir: string = DEFAULT_RUNBOOK_DIR): Promise<ScriptRegistry> {
  const root = await realpath(path.resolve(dir));
  const manifestPath = path.join(root, MANIFEST_FILE);
  const parsed = ManifestSchema.safeParse(parseYaml(await readFile(manifestPath, 'utf8')));
  if (!parsed.success) throw new Error(`${manifestPath}: ${describeIssues(toFieldIssues(parsed.error))}`);
  const scripts = new Map<string, RegisteredScript>();
  const problems: string[] = [];
  for (const entry of parsed.data.scripts) {
    const where = `script "${entry.name}"`;
    if (scripts.has(entry.name)) problems.push(`${where}: listed twice`);
    const argvProblems = checkArgv(entry);
    problems.push(...argvProblems.map((p) => `${where}: ${p}`));
    let filePath: string;
    let argsSchema: RegisteredScript['argsSchema'];
    try {
      filePath = await resolveInside(root, entry.file);
      argsSchema = compileArgs(entry.args);
    } catch (e) {
      problems.push(`${where}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    scripts.set(entry.name, { ...entry, filePath, argsSchema });
  }
  if (problems.length) throw new Error(`${manifestPath}: ${problems.join('; ')}`);
  return { dir: root, scripts };
}

/** Lay out argv from the manifest template and validated values; each item stays ONE argv element. */
export function renderArgv(script: RegisteredScript, values: Record<string, ArgValue>): string[] {
  const fill = (template: string) => template.replace(PLACEHOLDER, (_, name: string) => String(values[name]));
  const argv: string[] = [];
  for (const item of script.argv) {
    if (typeof item === 'string') argv.push(fill(item));
    else if (values[item.when] !== undefined && values[item.when] !== false) argv.push(...item.argv.map(fill));
  }
  return argv;
}
