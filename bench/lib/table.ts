/** A small fixed-width text table for benchmark output. */

export type Cell = string | number | null | undefined;

function show(cell: Cell): string {
  if (cell === null || cell === undefined) return '-';
  if (typeof cell === 'number') {
    if (Number.isNaN(cell)) return '-';
    if (Number.isInteger(cell)) return String(cell);
    return Math.abs(cell) < 10 ? cell.toFixed(2) : cell.toFixed(1);
  }
  return cell;
}

/** Render `rows` under `headers`; numbers are right-aligned, text left-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = rows.map((row) => headers.map((_, i) => show(row[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const line = (cells: readonly string[]) => cells
    .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

/** Print a table to stdout with a blank line before it. */
export function printTable(title: string, headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): void {
  process.stdout.write(`\n${title}\n${formatTable(headers, rows)}\n`);
}
