// Issue 14: the core README is the npm user's only reference, so it must name every option of
// createMeter (with a default) and every field of stats(); a new option or field without a line
// in the README fails here.
import { createMeter, METER_OPTION_NAMES } from '@pacspace-metering/core';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const README = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'core', 'README.md'), 'utf8');

/** The first cells of the rows of the table under `## heading`. */
function firstCells(heading: string): string[] {
  const section = README.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  return section.split('\n').filter((line) => line.startsWith('| ')).map((line) => line.split('|')[1]!.trim());
}

it('documents every createMeter option in the options table, with a default column', () => {
  const cells = firstCells('Options of `createMeter`');
  expect(cells[0]).toBe('Option');
  expect(README).toContain('| Option | Default | Meaning |');
  const named = new Set(cells.flatMap((cell) => [...cell.matchAll(/`(\w+)/g)].map((m) => m[1]!)));
  expect(METER_OPTION_NAMES.filter((name) => !named.has(name))).toEqual([]);
});

it('documents every field of stats()', async () => {
  const meter = createMeter({ enabled: false });
  const fields = Object.keys(meter.stats());
  await meter.close();
  const named = new Set(firstCells('`stats()`, hooks and logging').flatMap((cell) => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1]!)));
  expect(fields.length).toBeGreaterThan(10);
  expect(fields.filter((field) => !named.has(field))).toEqual([]);
});

// Issue 22: the balance gate's options and stats() fields, the same way.
it('documents every createBalanceGate option, with a default column, and every field of gate.stats()', async () => {
  const { BALANCE_GATE_OPTION_NAMES, createBalanceGate, silentLogger } = await import('@pacspace-metering/core');
  const options = firstCells('Options of `createBalanceGate`');
  expect(options[0]).toBe('Option');
  const named = new Set(options.flatMap((cell) => [...cell.matchAll(/`(\w+)/g)].map((m) => m[1]!)));
  expect(BALANCE_GATE_OPTION_NAMES.filter((name) => !named.has(name))).toEqual([]);
  const meter = createMeter({ enabled: false, logger: silentLogger });
  const fields = Object.keys(createBalanceGate(meter, { logger: silentLogger }).stats());
  await meter.close();
  const documented = new Set(firstCells('`gate.stats()` and metrics').flatMap((cell) => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1]!)));
  expect(fields.length).toBeGreaterThan(15);
  expect(fields.filter((field) => !documented.has(field))).toEqual([]);
});
