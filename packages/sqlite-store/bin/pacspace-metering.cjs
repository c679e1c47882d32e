#!/usr/bin/env node
'use strict';
// pacspace-metering: inspect and repair the SQLite outbox of a PacSpace Meter. See --help.
try {
  process.exitCode = require('../dist/cjs/cli.js').runCli(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`pacspace-metering: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
}
