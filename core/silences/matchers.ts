import { MATCHER_NAME, MAX_MATCHER_VALUE, type Matcher, type MatchOperator } from '../schemas/silence.js';

/**
 * Alertmanager-style matchers, pure: parse `name<op>value` as typed in chat, compile regexes
 * anchored at both ends (`=~"High.*"` matches `HighLatency`, not `VeryHighLatency`, as in
 * Alertmanager), and test them against what an alert or a detector episode is about.
 * A label the target does not have is the empty string, as in Alertmanager (`env!="prod"` matches
 * a target without an env).
 */

/** What a silence or maintenance window is matched against. */
export interface SuppressionTarget {
  /** The service the case would be about (the Sensor's routing, the Analyst's service). */
  service: string | null;
  env: string | null;
  /** The alert's `alertname`; a detector episode's signal name. */
  alertname: string | null;
  /** Every label of the alert (a detector episode: `signal`, `source=analyst`, `detector`, `direction`). */
  labels: Readonly<Record<string, string>>;
}

export type MatcherResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** A matcher with its regex built. */
export interface CompiledMatcher extends Matcher {
  test(value: string): boolean;
}

const MATCHER_TEXT = /^([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)(.*)$/s;

/** Whether `text` looks like a matcher (a label name followed by an operator). */
export function looksLikeMatcher(text: string): boolean {
  return MATCHER_TEXT.test(text);
}

/** `service=checkout`, `alertname=~"High.*"`, `env!=prod` → a Matcher; quotes around the value are optional. */
export function parseMatcher(text: string): MatcherResult<Matcher> {
  const m = MATCHER_TEXT.exec(text.trim());
  if (!m) return { ok: false, message: `\`${text}\` is not a matcher: write name=value, name!=value, name=~regex or name!~regex` };
  const [, name, op, raw] = m as unknown as [string, string, MatchOperator, string];
  const value = /^"(.*)"$/s.test(raw) ? raw.slice(1, -1) : raw;
  return checkMatcher({ name, op, value });
}

/** Checks a matcher's name and value and that its regex compiles. */
export function checkMatcher(m: Matcher): MatcherResult<Matcher> {
  if (!MATCHER_NAME.test(m.name)) return { ok: false, message: `\`${m.name}\` is not a label name (letters, digits and _; not starting with a digit)` };
  if (m.value.length > MAX_MATCHER_VALUE) return { ok: false, message: `the value of ${m.name} is longer than ${MAX_MATCHER_VALUE} characters` };
  const compiled = compileMatcher(m);
  return compiled.ok ? { ok: true, value: { name: m.name, op: m.op, value: m.value } } : compiled;
}

/** Build the matcher's test; a regex that does not compile is a clear error naming the matcher. */
export function compileMatcher(m: Matcher): MatcherResult<CompiledMatcher> {
  if (m.op === '=' || m.op === '!=') {
    const negate = m.op === '!=';
    return { ok: true, value: { ...m, test: (v) => (v === m.value) !== negate } };
  }
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m.value})$`);
  } catch (error) {
    const why = (error as Error).message.replace(/^Invalid regular expression: /, '');
    return { ok: false, message: `bad regular expression in ${matcherText(m)}: ${why}` };
  }
  const negate = m.op === '!~';
  return { ok: true, value: { ...m, test: (v) => re.test(v) !== negate } };
}

/** Compile every matcher, or the first error. */
export function compileMatchers(matchers: readonly Matcher[]): MatcherResult<CompiledMatcher[]> {
  const out: CompiledMatcher[] = [];
  for (const m of matchers) {
    const c = compileMatcher(m);
    if (!c.ok) return c;
    out.push(c.value);
  }
  return { ok: true, value: out };
}

/** The value a matcher of `name` sees on `target` (service, env and alertname first, then the labels; absent → ''). */
export function valueOf(target: SuppressionTarget, name: string): string {
  if (name === 'service') return target.service ?? target.labels.service ?? '';
  if (name === 'env') return target.env ?? target.labels.env ?? '';
  if (name === 'alertname') return target.alertname ?? target.labels.alertname ?? '';
  return target.labels[name] ?? '';
}

/** Whether every matcher matches `target` (AND, like Alertmanager). No matchers match nothing. */
export function matchesAll(matchers: readonly CompiledMatcher[], target: SuppressionTarget): boolean {
  return matchers.length > 0 && matchers.every((m) => m.test(valueOf(target, m.name)));
}

/** `service="checkout"` — a matcher as chat shows it (the value in quotes, as `parseMatcher` reads it back). */
export function matcherText(m: Matcher): string {
  return `${m.name}${m.op}"${m.value}"`;
}

/** Every matcher as chat shows them. */
export function matchersText(matchers: readonly Matcher[]): string {
  return matchers.map(matcherText).join(' ');
}
