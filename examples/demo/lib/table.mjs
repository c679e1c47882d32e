// A plain text table (console.table without its index column): one line per row, `ok` as yes/NO.
export function printTable(rows) {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const cell = (row, column) => (column === 'ok' ? (row.ok ? 'yes' : 'NO') : String(row[column]));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row, column).length)));
  const line = (values) => `  ${values.map((value, i) => (typeof rows[0][columns[i]] === 'number' ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join('  ')}`;
  console.log(line(columns));
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(line(columns.map((column) => cell(row, column))));
  console.log('');
}
