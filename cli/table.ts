/** Left-aligned columns, two spaces apart (the first row is the header). */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** An ISO time as an operator reads it: `2026-11-24 10:30:00Z`. */
export function when(value: Date | string | undefined | null): string {
  if (value === undefined || value === null || value === '') return '—';
  const iso = value instanceof Date ? value.toISOString() : value;
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
