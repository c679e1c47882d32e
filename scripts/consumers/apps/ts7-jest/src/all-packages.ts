// Every public entry point of every package, as an ES module importer sees it: with skipLibCheck
// off, TypeScript 7 checks each declaration file they reach (optional peers installed).
import type * as cli from '@pacspace-metering/cli';
import type * as core from '@pacspace-metering/core';
import type * as coreOpenTelemetry from '@pacspace-metering/core/opentelemetry';
import type * as corePrometheus from '@pacspace-metering/core/prometheus';
import type * as express from '@pacspace-metering/express';
import type * as nestjs from '@pacspace-metering/nestjs';
import type * as nestjsTerminus from '@pacspace-metering/nestjs/terminus';
import type * as postgresStore from '@pacspace-metering/postgres-store';
import type * as sandbox from '@pacspace-metering/sandbox';
import type * as sqliteStore from '@pacspace-metering/sqlite-store';

export type EsmEntryPoints = [typeof cli, typeof core, typeof coreOpenTelemetry, typeof corePrometheus, typeof express, typeof nestjs, typeof nestjsTerminus, typeof postgresStore, typeof sandbox, typeof sqliteStore];
