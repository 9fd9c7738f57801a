import assert from 'node:assert/strict';

/**
 * Checks on a prompt text built with core/agents/prompt-data.ts, written against the wire format
 * (`<<<DATA name>>>` … `<<<END DATA name>>>`, one `field: <JSON>` line each) rather than the
 * module's own helpers, so a test reads a prompt the way a model would.
 */

/** One data block found in a prompt: its name and its `field → raw JSON text` lines. */
export interface FoundBlock {
  name: string;
  fields: Map<string, string>;
}

const OPEN = /^<<<DATA ([a-z][a-z0-9_-]*)>>>$/;
const CLOSE = /^<<<END DATA ([a-z][a-z0-9_-]*)>>>$/;
const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]*): (.*)$/;
/** Characters that must never appear raw in a prompt built from hostile text. */
const RAW_HOSTILE = /[\r\u0085\u2028\u2029\u202A-\u202E\u2066-\u2069\u200B-\u200F\uFEFF]|\u{E0041}/u;

/**
 * Parse every data block of `text`, asserting the format on the way: blocks do not nest, each
 * closes exactly once with its own name, and every line inside is `field: <valid JSON>`.
 */
export function dataBlocksOf(text: string): FoundBlock[] {
  const blocks: FoundBlock[] = [];
  let current: FoundBlock | undefined;
  for (const line of text.split('\n')) {
    const open = OPEN.exec(line);
    const close = CLOSE.exec(line);
    if (open) {
      assert.equal(current, undefined, `block ${open[1]} opens inside block ${current?.name}`);
      current = { name: open[1]!, fields: new Map() };
    } else if (close) {
      assert.ok(current, `block ${close[1]} closes without being open`);
      assert.equal(close[1], current.name, `block ${current.name} closed as ${close[1]}`);
      blocks.push(current);
      current = undefined;
    } else if (current) {
      const field = FIELD.exec(line);
      assert.ok(field, `a line inside block ${current.name} is not "field: <data>": ${JSON.stringify(line)}`);
      assert.doesNotThrow(() => JSON.parse(field[2]!), `the data of ${current.name}.${field[1]} is not one JSON value: ${field[2]}`);
      current.fields.set(field[1]!, field[2]!);
    } else {
      assert.ok(!line.trimStart().startsWith('<<<'), `a stray block marker: ${JSON.stringify(line)}`);
    }
  }
  assert.equal(current, undefined, `block ${current?.name} never closes`);
  return blocks;
}

/** The parsed value of `block.field` (the JSON text decoded). */
export function fieldValue(blocks: readonly FoundBlock[], block: string, field: string): unknown {
  const found = blocks.filter((b) => b.name === block);
  assert.equal(found.length, 1, `exactly one ${block} block`);
  const raw = found[0]!.fields.get(field);
  assert.ok(raw !== undefined, `block ${block} has a ${field} line`);
  return JSON.parse(raw);
}

/**
 * The prompt holds hostile text only as quoted data: no line starts with a forged heading, no raw
 * CR, line separator, bidi, zero-width or tag character is left, and every block is well formed.
 */
export function assertOnlyQuotedData(text: string, forgedHeadings: readonly string[]): FoundBlock[] {
  const blocks = dataBlocksOf(text);
  for (const line of text.split('\n')) {
    for (const heading of forgedHeadings) assert.ok(!line.trimStart().startsWith(heading), `a forged heading starts a line: ${JSON.stringify(line)}`);
  }
  assert.doesNotMatch(text, RAW_HOSTILE, 'a raw control, separator, bidi or invisible character reached the prompt');
  return blocks;
}

/** The lines of `text` outside every data block (the prompt's own words), joined by newlines. */
export function textOutsideBlocks(text: string): string {
  let inside = false;
  return text.split('\n').filter((line) => {
    if (OPEN.test(line)) inside = true;
    else if (CLOSE.test(line)) { inside = false; return false; }
    return !inside;
  }).join('\n');
}
