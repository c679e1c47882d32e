#!/usr/bin/env node
'use strict';
// Thin launcher: the command lives in src/cli.ts, built to dist/cjs/cli.js.
require('../dist/cjs/cli.js').main(process.argv.slice(2));
