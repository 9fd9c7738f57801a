import { stemmer } from 'stemmer';
import { lexiconExpansions } from '../../core/knowledge/ops-lexicon.js';
import type { ConceptOf } from '../../core/knowledge/query-concepts.js';
import { SYNONYM_GROUPS } from '../../core/knowledge/synonyms.js';

/** Words too common to rank by (a small English list plus on-call filler). */
const STOPWORDS = new Set(`a about after again all also am an and any are as at be because been before being but by can
could did do does doing down during each few for from further had has have having he her here hers how i if in into is it its
itself just me more most my no nor not now of off on once only or other our out over own same she should so some such than that
the their them then there these they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours please help need our my us getting keeps keep got get seeing see seems still`.split(/\s+/));

/**
 * Split text into raw words: camelCase, PascalCase and snake_case/kebab-case names become their
 * parts (and the joined name is kept too), so `CrashLoopBackOff`, `crash_loop` and `crash loop`
 * meet. Numbers with units (`p95`, `5xx`, `429`) stay whole.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  for (const raw of text.split(/[^\p{L}\p{N}_\-.]+/u)) {
    const token = raw.replace(/^[._-]+|[._-]+$/g, '');
    if (!token) continue;
    const parts = token
      .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
      .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
      .split(/[\s_.\-]+/)
      .filter(Boolean);
    if (parts.length > 1) words.push(parts.join(''));
    words.push(...parts);
  }
  return words.map((w) => w.toLowerCase());
}

/** True for words too common to rank by (English function words and on-call filler). */
export function isStopword(word: string): boolean {
  return STOPWORDS.has(word.toLowerCase());
}

/** One word → its index term (lower case, stemmed), or null for stopwords and noise. */
export function indexTerm(word: string): string | null {
  const w = word.toLowerCase();
  if (w.length < 2 && !/\d/.test(w)) return null;
  if (STOPWORDS.has(w)) return null;
  if (w.length > 40) return null;
  return /^[a-z]+$/.test(w) ? stemmer(w) : w;
}

/** Text → index terms, in order (duplicates kept: they are term frequency). */
export function analyze(text: string): string[] {
  const out: string[] = [];
  for (const word of splitWords(text)) {
    const term = indexTerm(word);
    if (term) out.push(term);
  }
  return out;
}

/** stemmed term → stemmed terms of its synonym groups (itself excluded). */
const SYNONYMS: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>();
  for (const group of SYNONYM_GROUPS) {
    const terms = [...new Set(group.flatMap((w) => analyze(w)))];
    for (const t of terms) {
      const set = map.get(t) ?? new Set<string>();
      for (const other of terms) if (other !== t) set.add(other);
      map.set(t, set);
    }
  }
  return new Map([...map.entries()].map(([k, v]) => [k, [...v]]));
})();

/**
 * A query's terms: what the user typed (weight 1), what the ops lexicon spells out for its
 * abbreviations and slang (`lexicon`, middle weight) and synonym expansions (`expanded`, low weight).
 */
export interface QueryTerms {
  original: string[];
  lexicon: string[];
  expanded: string[];
  /** Each synonym → the typed term it was expanded from (typed and lexicon terms are their own concept). */
  concepts: ConceptOf;
}

export function analyzeQuery(query: string): QueryTerms {
  const original = [...new Set(analyze(query))];
  const seen = new Set(original);
  const fresh = (terms: Iterable<string>) => [...terms].filter((t) => !seen.has(t) && (seen.add(t), true));
  const lexicon = fresh(lexiconExpansions(splitWords(query)).flatMap((w) => analyze(w)));
  const concepts = new Map<string, string>();
  const expanded: string[] = [];
  for (const t of original) {
    for (const s of fresh(SYNONYMS.get(t) ?? [])) {
      expanded.push(s);
      concepts.set(s, t);
    }
  }
  return { original, lexicon, expanded, concepts };
}
