/** Prints the bench's results as two aligned columns, then where they were written. */
export function printTable(rows: [string, string][], file: string): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n\nwritten to ${file}\n`);
}
