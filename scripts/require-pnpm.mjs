// `prepack` of every publishable package: refuses to pack or publish unless pnpm runs it.
// The packages depend on each other as `workspace:^`; pnpm rewrites that to a real range
// (`^0.1.0`) in the tarball's package.json, npm copies it verbatim, and the tarball it makes cannot
// be installed (`EUNSUPPORTEDPROTOCOL ... "workspace:"`). Failing here is better than publishing it.
import { basename } from 'node:path';

const agent = process.env.npm_config_user_agent ?? '';
// npm always sets npm_execpath to its own npm-cli.js, while the user agent is inherited when npm
// runs under a pnpm script (`pnpm exec npm pack`), so both are checked.
const npmRunsThis = basename(process.env.npm_execpath ?? '') === 'npm-cli.js';
if (!agent.startsWith('pnpm/') || npmRunsThis) {
  const name = process.env.npm_package_name ?? 'this package';
  console.error(
    [
      `${name}: pack and publish with pnpm, not ${npmRunsThis ? 'npm' : agent.split(' ')[0] || 'this tool'}.`,
      '  npm copies "workspace:^" dependency ranges into the tarball as they are, and such a tarball',
      '  cannot be installed. pnpm replaces them with the real versions. Use, from the repository root:',
      '    npx -y pnpm@12.4.2 -r pack --pack-destination <dir>     (tarballs)',
      '    npx -y pnpm@12.4.2 -r publish                          (the registry)',
      '  Steps: docs/releasing.md in the repository.',
    ].join('\n'),
  );
  process.exit(1);
}
