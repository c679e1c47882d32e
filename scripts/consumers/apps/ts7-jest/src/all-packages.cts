// Every public entry point of every package, as a CommonJS importer sees it (the `require`
// condition's declarations): with skipLibCheck off, TypeScript 7 checks each one they reach.
import type cli = require('@pacspace-metering/cli');
import type core = require('@pacspace-metering/core');
import type coreOpenTelemetry = require('@pacspace-metering/core/opentelemetry');
import type corePrometheus = require('@pacspace-metering/core/prometheus');
import type express = require('@pacspace-metering/express');
import type nestjs = require('@pacspace-metering/nestjs');
import type nestjsTerminus = require('@pacspace-metering/nestjs/terminus');
import type postgresStore = require('@pacspace-metering/postgres-store');
import type sandbox = require('@pacspace-metering/sandbox');
import type sqliteStore = require('@pacspace-metering/sqlite-store');

export type CjsEntryPoints = [typeof cli, typeof core, typeof coreOpenTelemetry, typeof corePrometheus, typeof express, typeof nestjs, typeof nestjsTerminus, typeof postgresStore, typeof sandbox, typeof sqliteStore];
