import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

/*
 * The dependency rule (issue 13, move 4), checked on every `npm test`:
 * - core/ imports only zod and other core files (no node:, no npm packages, no outer room);
 * - adapters/ never imports bot/, app/ or cli/;
 * - bot/ (chat receivers) never imports app/ or cli/;
 * - nothing imports cli/ (command-line tools are entry points, not libraries);
 * - nothing outside eval/ imports eval/ (the closed-loop evaluation is a dev tool, like bench/);
 * - chat arrows run one way: adapters/chat never imports bot/, core/chat never imports adapters/.
 * Imports are read as text (static `import … from`, `export … from`, dynamic `import('…')`).
 */

const ROOT = process.cwd();
const ROOMS = ['core', 'adapters', 'bot', 'app', 'cli', 'eval'] as const;
type Room = (typeof ROOMS)[number];

interface ImportEdge { file: string; spec: string; target: string | null }

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return []; }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Every import of `file`, with the repo-relative file it points at when it is relative. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (!spec) continue;
    const target = spec.startsWith('.') ? relative(ROOT, normalize(join(dirname(file), spec))) : null;
    edges.push({ file: relative(ROOT, file), spec, target });
  }
  return edges;
}

function roomOf(path: string | null): Room | null {
  if (!path) return null;
  const first = path.split(/[\\/]/)[0];
  return (ROOMS as readonly string[]).includes(first ?? '') ? (first as Room) : null;
}

/** The rule an edge breaks, or null. */
function violation(edge: ImportEdge): string | null {
  const from = roomOf(edge.file);
  const to = roomOf(edge.target);
  if (from === 'core') {
    if (edge.target === null) return edge.spec === 'zod' ? null : `core imports only zod, not ${edge.spec}`;
    if (to !== 'core') return `core imports only core, not ${edge.target}`;
  }
  if (to === 'cli') return `nothing imports cli/ (${edge.target})`;
  if (to === 'eval' && from !== 'eval') return `nothing imports eval/ (${edge.target})`;
  if (from === 'adapters' && (to === 'bot' || to === 'app')) return `adapters never import ${to}/ (${edge.target})`;
  if (from === 'bot' && to === 'app') return `bot/ never imports app/ (${edge.target})`;
  return null;
}

test('the dependency rule holds: core → zod only; adapters ↛ bot, app; bot ↛ app; nothing → cli, eval', () => {
  const broken: string[] = [];
  for (const room of ROOMS) {
    for (const file of sourceFiles(join(ROOT, room))) {
      for (const edge of importsOf(file, readFileSync(file, 'utf8'))) {
        const why = violation(edge);
        if (why) broken.push(`${edge.file}: ${why}`);
      }
    }
  }
  assert.deepEqual(broken, [], `${broken.length} import(s) break the dependency rule:\n${broken.join('\n')}`);
});

test('the rule checker sees every kind of import (it cannot pass by reading nothing)', () => {
  const text = [
    "import { z } from 'zod';",
    "import type { X } from '../adapters/x.js';",
    "export { y } from './y.js';",
    "const m = await import('../bot/main.js');",
    "import '../cli/side-effect.js';",
  ].join('\n');
  const edges = importsOf(join(ROOT, 'core', 'a.ts'), text);
  assert.deepEqual(edges.map((e) => e.spec), ['zod', '../adapters/x.js', './y.js', '../bot/main.js', '../cli/side-effect.js']);
  assert.deepEqual(edges.map(violation), [
    null,
    'core imports only core, not adapters/x.js',
    null,
    'core imports only core, not bot/main.js',
    'core imports only core, not cli/side-effect.js',
  ]);
  assert.equal(violation({ file: 'adapters/chat/t.ts', spec: '../../bot/chat-model.js', target: 'bot/chat-model.js' }), 'adapters never import bot/ (bot/chat-model.js)');
  assert.equal(violation({ file: 'app/start.ts', spec: '../cli/x.js', target: 'cli/x.js' }), 'nothing imports cli/ (cli/x.js)');
  assert.equal(violation({ file: 'app/start.ts', spec: '../eval/run.js', target: 'eval/run.js' }), 'nothing imports eval/ (eval/run.js)');
  assert.equal(violation({ file: 'eval/run.ts', spec: './harness.js', target: 'eval/harness.js' }), null);
  assert.equal(violation({ file: 'bot/slack/app.ts', spec: '../../app/extensions.js', target: 'app/extensions.js' }), 'bot/ never imports app/ (app/extensions.js)');
});
