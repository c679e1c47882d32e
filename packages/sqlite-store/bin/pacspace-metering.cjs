#!/usr/bin/env node
'use strict';
// pacspace-metering: inspect and repair the SQLite outbox of a PacSpace Meter. See --help.
// Node 22 flags node:sqlite as experimental with a warning on every load; in this command's own
// output that line is noise (the store's use of it is tested), so only that warning is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning && warning.message !== undefined ? warning.message : warning).startsWith('SQLite is an experimental feature')) return;
  return emitWarning.call(process, warning, ...rest);
};
try {
  process.exitCode = require('../dist/cjs/cli.js').runCli(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`pacspace-metering: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
}
