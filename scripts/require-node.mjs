// First step of the workspace's build and test scripts: they need node:sqlite (Node 22.13+ or 24+).
// `pnpm install` puts Node 26 from the npm registry (the root package.json's optionalDependencies,
// one package per platform) first on the PATH of every `pnpm run`; where no such package fits the
// platform, the machine's own Node runs the scripts, and it must be recent enough.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || major === 23 || (major === 22 && minor < 13)) {
  console.error(
    [
      `This is Node.js ${process.version} (${process.execPath}); the workspace's scripts need Node 22.13+ or 24+.`,
      '  `npx -y pnpm@12.4.2 install` provides Node 26 on Linux (x64, arm64) and macOS (x64, arm64):',
      '  run the scripts through pnpm (`npx -y pnpm@12.4.2 test`), which puts it first on the PATH.',
      '  Elsewhere, install Node 22.13+ or 24+ yourself.',
    ].join('\n'),
  );
  process.exit(1);
}
