import type { Matcher } from '../schemas/silence.js';
import { normaliseQuotes } from './command.js';
import { parseDurationMs } from '../silences/duration.js';
import { looksLikeMatcher, parseMatcher } from '../silences/matchers.js';

/**
 * `/ops silence …` → a typed command, pure. Matchers are Alertmanager's (`name=value`,
 * `name!=value`, `name=~regex`, `name!~regex`, values quoted when they hold spaces); the end is
 * `for <duration>` or `--until <time>`; the reason is the quoted text. Label names keep their case.
 */

export type SilenceCommand =
  | { kind: 'silence'; action: 'create'; matchers: Matcher[]; durationMs?: number; endsAt?: string; startsAt?: string; reason: string }
  | { kind: 'silence'; action: 'list' }
  | { kind: 'silence'; action: 'expire'; ref: string };

export type SilenceParse = { ok: true; command: SilenceCommand } | { ok: false; message: string };

export const SILENCE_USAGE = [
  '/ops silence <matcher>… for <duration> "<reason>"   (or --until <time> instead of for; --from <time> to start later)',
  '/ops silence list',
  '/ops silence expire <id>',
] as const;

const MATCHER_HELP = 'Matchers: name=value, name!=value, name=~regex, name!~regex over service, env, alertname or any label; all must match; regexes match the whole value. '
  + 'Durations: 30m, 2h, 1d, 1h30m. Times: ISO 8601 with a zone, e.g. 2026-12-05T18:00Z.';

/** The syntax, for every error (shown ephemerally). */
export function silenceSyntax(): string {
  return `Usage:\n${SILENCE_USAGE.map((u) => `\`${u}\``).join('\n')}\n${MATCHER_HELP}\nExample: \`/ops silence service=checkout alertname=~"High.*" for 2h "db migration"\``;
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;
const SILENCE_ID = /^[0-9a-f]{4}[0-9a-f-]{0,32}$/i;

interface Word {
  text: string;
  /** The whole word was one quoted string (the reason). */
  quoted: boolean;
}

/** Split on whitespace; quotes keep spaces together anywhere in a word (`alertname=~"a b"`) and are removed. */
function words(input: string): Word[] | string {
  const text = normaliseQuotes(input);
  const out: Word[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let value = '';
    let quotedParts = 0;
    let plainParts = 0;
    while (i < text.length && !/\s/.test(text[i]!)) {
      const ch = text[i]!;
      if (ch === '"' || ch === "'") {
        const end = text.indexOf(ch, i + 1);
        if (end < 0) return `unterminated quote ${ch}`;
        value += text.slice(i + 1, end);
        quotedParts++;
        i = end + 1;
      } else {
        value += ch;
        plainParts++;
        i++;
      }
    }
    out.push({ text: value, quoted: quotedParts > 0 && plainParts === 0 });
  }
  return out;
}

function fail(message: string): SilenceParse {
  return { ok: false, message: `${message}\n${silenceSyntax()}` };
}

/** Parse what follows `/ops silence`. */
export function parseSilenceCommand(rest: string): SilenceParse {
  const tokens = words(rest);
  if (typeof tokens === 'string') return fail(`Cannot read the command: ${tokens}.`);
  const first = tokens[0];
  if (!first) return fail('Say what to silence.');
  const verb = first.quoted ? '' : first.text.toLowerCase();
  if (verb === 'list' || verb === 'ls') {
    if (tokens.length > 1) return fail(`Unexpected \`${tokens.slice(1).map((t) => t.text).join(' ')}\` after list.`);
    return { ok: true, command: { kind: 'silence', action: 'list' } };
  }
  if (verb === 'expire' || verb === 'end') {
    const ref = tokens[1]?.text.replace(/^#/, '') ?? '';
    if (tokens.length !== 2 || !SILENCE_ID.test(ref)) return fail('Give the id of the silence to expire (its first 8 characters are enough; `/ops silence list` shows them).');
    return { ok: true, command: { kind: 'silence', action: 'expire', ref: ref.toLowerCase() } };
  }
  return parseCreate(tokens);
}

function parseCreate(tokens: Word[]): SilenceParse {
  const matchers: Matcher[] = [];
  const reason: string[] = [];
  let durationMs: number | undefined;
  let endsAt: string | undefined;
  let startsAt: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.quoted) {
      reason.push(t.text);
      continue;
    }
    const option = /^(?:--)?(for|until|from|start)(?:=(.*))?$/i.exec(t.text);
    if (option && (t.text.startsWith('--') || option[1]!.toLowerCase() === 'for')) {
      const name = option[1]!.toLowerCase();
      const value = option[2] ?? tokens[++i]?.text;
      if (value === undefined || value === '') return fail(`\`${t.text}\` needs a value.`);
      if (name === 'for') {
        const ms = parseDurationMs(value);
        if (ms === null || ms <= 0) return fail(`\`${value}\` is not a duration (like 30m, 2h, 1d or 1h30m).`);
        if (durationMs !== undefined || endsAt !== undefined) return fail('Give the end once: `for <duration>` or `--until <time>`.');
        durationMs = ms;
      } else {
        if (!TIME.test(value) || Number.isNaN(Date.parse(value))) return fail(`\`${value}\` is not a time with a zone (like 2026-12-05T18:00Z or 2026-12-05T19:00+01:00).`);
        const iso = new Date(Date.parse(value)).toISOString();
        if (name === 'until') {
          if (durationMs !== undefined || endsAt !== undefined) return fail('Give the end once: `for <duration>` or `--until <time>`.');
          endsAt = iso;
        } else {
          startsAt = iso;
        }
      }
      continue;
    }
    if (looksLikeMatcher(t.text)) {
      const m = parseMatcher(t.text);
      if (!m.ok) return fail(`${m.message}.`);
      matchers.push(m.value);
      continue;
    }
    return fail(`\`${t.text}\` is neither a matcher, \`for <duration>\`, \`--until <time>\` nor a "quoted reason".`);
  }
  if (matchers.length === 0) return fail('Give at least one matcher, like service=checkout.');
  if (durationMs === undefined && endsAt === undefined) return fail('Say how long: `for 2h`, or `--until <time>`.');
  const text = reason.join(' ').trim();
  if (!text) return fail('Give a reason in quotes, like "db migration".');
  return {
    ok: true,
    command: {
      kind: 'silence', action: 'create', matchers, reason: text,
      ...(durationMs !== undefined ? { durationMs } : {}), ...(endsAt ? { endsAt } : {}), ...(startsAt ? { startsAt } : {}),
    },
  };
}
