#!/usr/bin/env node
'use strict';
// pacspace-metering: inspect and repair the outbox of a PacSpace Meter (a SQLite file, or the
// shared Postgres outbox with --postgres). See --help.
const fail = (err) => {
  process.stderr.write(`pacspace-metering: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
};
try {
  Promise.resolve(require('../dist/cjs/cli.js').runCli(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  }, fail);
} catch (err) {
  fail(err);
}
