/**
 * Where the CLI writes, its clock (for tests), and where it looks for the store packages.
 *
 * @example
 * await runCli(['status', '--sqlite', 'm.db'], { stdout: process.stdout, stderr: process.stderr, now: () => 0 });
 */
export interface CliIo {
  /** Reports and data (a table, JSON, JSON Lines). */
  stdout: { write(text: string): unknown };
  /** Errors and the counts that accompany a file written with `--out`. */
  stderr: { write(text: string): unknown };
  /** The clock ages and replays are measured with. @default Date.now */
  now?: (() => number) | undefined;
  /**
   * Directories to load `@pacspace-metering/sqlite-store` and `@pacspace-metering/postgres-store`
   * from, first found wins: the app's directory first, so the command reads the outbox with the
   * version of the store that wrote it.
   *
   * @default [process.cwd()] (the `pacspace-metering` bin adds its own directory after it)
   */
  searchFrom?: readonly string[] | undefined;
}
