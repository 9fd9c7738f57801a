/**
 * `/ops …` text → a typed `ChatCommand`. Pure: no I/O, the same on Slack, Discord and the
 * simulator. Bad input gives `{ ok: false, message }` with a usage line to show the user
 * ephemerally; nothing is written for it.
 */

/** Case reference as typed by a user: a full uuid or a prefix of one (short id = first 8 chars). */
export type CaseRef = string;

import { unstorableInput } from './escape.js';
import { parseSilenceCommand, SILENCE_USAGE, type SilenceCommand } from './silence-command.js';

export type ChatCommand =
  | { kind: 'open'; title: string; severity?: number; service?: string; env?: string }
  | { kind: 'status'; caseRef?: CaseRef }
  | { kind: 'timeline'; caseRef?: CaseRef }
  | { kind: 'evidence'; caseRef?: CaseRef }
  | { kind: 'plan'; caseRef?: CaseRef; template?: string }
  | { kind: 'runbook'; query: string; service?: string }
  | { kind: 'report'; caseRef?: CaseRef }
  /** The demo world (OPSLOOP_DEMO): break the demo service (opens a case) or heal it. */
  | { kind: 'demo'; action: 'break' | 'heal' }
  /** Silences (core/chat/silence-command.ts): make one, list them, expire one. */
  | SilenceCommand
  | { kind: 'help' };

export type ParseResult = { ok: true; command: ChatCommand } | { ok: false; message: string };

export interface ParseContext {
  /** The case of the thread the command was typed in, if any: it is implied when no case is named. */
  threadCaseId?: string;
}

/** One usage line per subcommand; also the body of `/ops help`. */
export const USAGE = {
  open: '/ops open <title> [sev=1..4] [service=<name>] [env=<name>]',
  status: '/ops status [case]',
  timeline: '/ops timeline [case]',
  evidence: '/ops evidence [case]',
  plan: '/ops plan [template] [case=<id>]',
  runbook: '/ops runbook <what is happening> [service=<name>]',
  report: '/ops report [case]',
  demo: '/ops demo break|heal',
  silence: SILENCE_USAGE.join(' · '),
  help: '/ops help',
} as const;

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** A case id or a prefix of at least 4 hex characters (dashes allowed where the uuid has them). */
export const CASE_REF_PATTERN = /^[0-9a-f]{4}[0-9a-f-]{0,32}$/i;
const TEMPLATE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MAX_TITLE = 200;
const MAX_TEXT = 2000;

const KEYS_BY_KIND: Record<ChatCommand['kind'], readonly string[]> = {
  open: ['sev', 'severity', 'service', 'env'],
  status: ['case'],
  timeline: ['case'],
  evidence: ['case'],
  plan: ['case', 'template'],
  runbook: ['service'],
  report: ['case'],
  demo: [],
  silence: [],
  help: [],
};

interface Token {
  text: string;
  /** Set when the token is `key=value`. */
  key?: string;
  quoted: boolean;
}

function usageOf(kind: keyof typeof USAGE): string {
  return `Usage: \`${USAGE[kind]}\``;
}

function fail(message: string): ParseResult {
  return { ok: false, message };
}

/** Normalise typographic quotes (Slack and phones send them) to ASCII ones. */
export function normaliseQuotes(text: string): string {
  return text.replace(/[\u201C\u201D\u201E]/g, '"').replace(/[\u2018\u2019]/g, "'");
}

/**
 * Split on whitespace, keeping "quoted strings" (and key="quoted values") together.
 * Returns an error message for an unterminated quote.
 */
export function tokenize(input: string): Token[] | string {
  const text = normaliseQuotes(input);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let value = '';
    let quoted = false;
    let key: string | undefined;
    const keyMatch = /^([A-Za-z][A-Za-z_]*)=/.exec(text.slice(i));
    if (keyMatch) {
      key = keyMatch[1]!.toLowerCase();
      i += keyMatch[0].length;
    }
    while (i < text.length && !/\s/.test(text[i]!)) {
      const ch = text[i]!;
      if (ch === '"' || ch === "'") {
        const end = text.indexOf(ch, i + 1);
        if (end < 0) return `unterminated quote ${ch} in the command`;
        value += text.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else {
        value += ch;
        i++;
      }
    }
    tokens.push(key === undefined ? { text: value, quoted } : { text: value, key, quoted });
  }
  return tokens;
}

/** Parse the text after `/ops` (a leading `/ops` is accepted and ignored). */
export function parseOpsCommand(text: string, ctx: ParseContext = {}): ParseResult {
  if (text.length > MAX_TEXT) return fail(`The command is too long (over ${MAX_TEXT} characters).`);
  // The database cannot store NUL or lone surrogates: refuse them here, as the REST body parser does.
  const unstorable = unstorableInput({ command: text });
  if (unstorable) return fail(unstorable);
  const line = text.trim().replace(/^\/ops\b/i, '').trimStart();
  // Silences read matchers (`name!=value`, `name=~regex`, case-sensitive names) their own way.
  if (/^silence(\s|$)/i.test(line)) return parseSilenceCommand(line.slice('silence'.length));
  const tokens = tokenize(line);
  if (typeof tokens === 'string') return fail(`Cannot read the command: ${tokens}.`);
  const [first, ...rest] = tokens;
  if (!first || (first.key === undefined && first.text.toLowerCase() === 'help')) return { ok: true, command: { kind: 'help' } };
  const sub = first.key === undefined ? first.text.toLowerCase() : '';
  if (!(sub in KEYS_BY_KIND)) {
    return fail(`Unknown subcommand \`${first.key ? `${first.key}=` : ''}${first.text}\`. Try:\n${Object.values(USAGE).join('\n')}`);
  }
  const kind = sub as ChatCommand['kind'];
  const args: Record<string, string> = {};
  const words: Token[] = [];
  for (const token of rest) {
    if (token.key === undefined) {
      words.push(token);
      continue;
    }
    if (!KEYS_BY_KIND[kind].includes(token.key)) {
      return fail(`\`${token.key}=\` is not an option of ${kind}. ${usageOf(kind as keyof typeof USAGE)}`);
    }
    const name = token.key === 'severity' ? 'sev' : token.key;
    if (name in args) return fail(`\`${name}=\` is given twice. ${usageOf(kind as keyof typeof USAGE)}`);
    args[name] = token.text;
  }
  switch (kind) {
    case 'open': return parseOpen(words, args);
    case 'status':
    case 'timeline':
    case 'evidence': return parseCaseQuery(kind, words, args, ctx);
    case 'plan': return parsePlan(words, args, ctx);
    case 'runbook': return parseRunbook(words, args);
    case 'report': return parseReport(words, args, ctx);
    case 'demo': return parseDemo(words);
    case 'silence': return parseSilenceCommand(rest.map((t) => t.text).join(' '));
    case 'help': return { ok: true, command: { kind: 'help' } };
  }
}

function parseDemo(words: Token[]): ParseResult {
  const action = words.length === 1 ? words[0]!.text.toLowerCase() : '';
  if (action !== 'break' && action !== 'heal') return fail(`Say what to do with the demo service. ${usageOf('demo')}`);
  return { ok: true, command: { kind: 'demo', action } };
}

function parseOpen(words: Token[], args: Record<string, string>): ParseResult {
  const title = words.map((w) => w.text).join(' ').trim();
  if (!title) return fail(`The title is empty. ${usageOf('open')}`);
  if (title.length > MAX_TITLE) return fail(`The title is ${title.length} characters long; at most ${MAX_TITLE}. ${usageOf('open')}`);
  const command: Extract<ChatCommand, { kind: 'open' }> = { kind: 'open', title };
  if (args.sev !== undefined) {
    if (!/^[1-4]$/.test(args.sev)) return fail(`sev must be 1, 2, 3 or 4 (got \`${args.sev}\`). ${usageOf('open')}`);
    command.severity = Number(args.sev);
  }
  for (const key of ['service', 'env'] as const) {
    const value = args[key];
    if (value === undefined) continue;
    if (!NAME_PATTERN.test(value)) {
      return fail(`${key} must be a name like ${key === 'service' ? 'checkout-api' : 'prod'} (letters, digits, . _ -; got \`${value}\`). ${usageOf('open')}`);
    }
    command[key] = value;
  }
  return { ok: true, command };
}

function caseRefFrom(words: Token[], args: Record<string, string>, ctx: ParseContext, kind: 'status' | 'timeline' | 'evidence' | 'plan'): { ok: true; ref?: string } | { ok: false; message: string } {
  const given = args.case ?? (kind === 'plan' ? undefined : words[0]?.text);
  if (given === undefined) return ctx.threadCaseId ? { ok: true, ref: ctx.threadCaseId } : { ok: true };
  const ref = given.replace(/^#/, '');
  if (!CASE_REF_PATTERN.test(ref)) {
    return { ok: false, message: `\`${given}\` is not a case id (give the id or its first 8 characters). ${usageOf(kind)}` };
  }
  return { ok: true, ref: ref.toLowerCase() };
}

function parseCaseQuery(kind: 'status' | 'timeline' | 'evidence', words: Token[], args: Record<string, string>, ctx: ParseContext): ParseResult {
  const extra = args.case === undefined ? words.slice(1) : words;
  if (extra.length) return fail(`Unexpected \`${extra.map((w) => w.text).join(' ')}\`. ${usageOf(kind)}`);
  const ref = caseRefFrom(words, args, ctx, kind);
  if (!ref.ok) return fail(ref.message);
  return { ok: true, command: ref.ref ? { kind, caseRef: ref.ref } : { kind } };
}

function parsePlan(words: Token[], args: Record<string, string>, ctx: ParseContext): ParseResult {
  if (words.length > 1) return fail(`Unexpected \`${words.slice(1).map((w) => w.text).join(' ')}\`. ${usageOf('plan')}`);
  const template = args.template ?? words[0]?.text;
  if (template !== undefined && !TEMPLATE_PATTERN.test(template)) {
    return fail(`\`${template}\` is not a template name (like k8s.rollout.restart). ${usageOf('plan')}`);
  }
  const ref = caseRefFrom(words, args, ctx, 'plan');
  if (!ref.ok) return fail(ref.message);
  if (!ref.ref) return fail(`Which case? Type it in the case's thread or add case=<id>. ${usageOf('plan')}`);
  const command: Extract<ChatCommand, { kind: 'plan' }> = { kind: 'plan', caseRef: ref.ref };
  if (template !== undefined) command.template = template;
  return { ok: true, command };
}

const MAX_RUNBOOK_QUERY = 300;

function parseRunbook(words: Token[], args: Record<string, string>): ParseResult {
  const query = words.map((w) => w.text).join(' ').trim();
  if (!/[\p{L}\p{N}]{2,}/u.test(query)) return fail(`Say what is happening, e.g. \`/ops runbook pods keep restarting\`. ${usageOf('runbook')}`);
  if (query.length > MAX_RUNBOOK_QUERY) return fail(`The query is ${query.length} characters long; at most ${MAX_RUNBOOK_QUERY}. ${usageOf('runbook')}`);
  const command: Extract<ChatCommand, { kind: 'runbook' }> = { kind: 'runbook', query };
  if (args.service !== undefined) {
    if (!NAME_PATTERN.test(args.service)) return fail(`service must be a name like checkout-api (got \`${args.service}\`). ${usageOf('runbook')}`);
    command.service = args.service;
  }
  return { ok: true, command };
}

function parseReport(words: Token[], args: Record<string, string>, ctx: ParseContext): ParseResult {
  const extra = args.case === undefined ? words.slice(1) : words;
  if (extra.length) return fail(`Unexpected \`${extra.map((w) => w.text).join(' ')}\`. ${usageOf('report')}`);
  const given = args.case ?? words[0]?.text;
  if (given === undefined) return ctx.threadCaseId ? { ok: true, command: { kind: 'report', caseRef: ctx.threadCaseId } } : { ok: true, command: { kind: 'report' } };
  const ref = given.replace(/^#/, '');
  if (!CASE_REF_PATTERN.test(ref)) return fail(`\`${given}\` is not a case id (give the id or its first 8 characters). ${usageOf('report')}`);
  return { ok: true, command: { kind: 'report', caseRef: ref.toLowerCase() } };
}

/** The text of `/ops help`. */
export function helpLines(): string[] {
  return [
    `${USAGE.open} — open a case (the card and its thread appear in this channel)`,
    `${USAGE.status} — status of a case (in a case thread the case is implied; without a case: open cases)`,
    `${USAGE.timeline} — the case's timeline`,
    `${USAGE.evidence} — the case's evidence (alerts, PromQL, dashboards, logs) with links`,
    `${USAGE.plan} — ask for a new plan for a PARKED case`,
    `${USAGE.runbook} — the runbooks and past cases that match, best first`,
    `${USAGE.report} — upload the case's incident report (a Markdown file) into its thread`,
    `${USAGE.demo} — break the built-in demo service (opens a case the agents fix) or heal it (when the demo world runs)`,
    `${SILENCE_USAGE[0]} — silence matching alerts and detector episodes: they open no case until it ends (announced in this thread)`,
    `${SILENCE_USAGE[1]} — active and pending silences, with how much each suppressed`,
    `${SILENCE_USAGE[2]} — end a silence now`,
    `${USAGE.help} — this help`,
    'Approve and Reject are buttons on the plan message when the gate asks for a human.',
  ];
}
