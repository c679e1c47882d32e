#!/usr/bin/env node
'use strict';
// pacspace-metering: inspect and repair the outbox of a PacSpace Meter (a SQLite file with
// --sqlite, the shared Postgres outbox with --postgres). See --help.
// Node 22 flags node:sqlite as experimental with a warning on every load; in this command's own
// output that line is noise (the store's use of it is tested), so only that warning is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning && warning.message !== undefined ? warning.message : warning).startsWith('SQLite is an experimental feature')) return;
  return emitWarning.call(process, warning, ...rest);
};
const fail = (err) => {
  process.stderr.write(`pacspace-metering: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
};
try {
  // The store packages are looked for in the app's directory first, then next to this command.
  const io = { stdout: process.stdout, stderr: process.stderr, searchFrom: [process.cwd(), __dirname] };
  require('../dist/cjs/cli.js').runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  }, fail);
} catch (err) {
  fail(err);
}
