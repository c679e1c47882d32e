// A package README's "Testing your app" project, as a user copies it: every block marked
// `<!-- snippet file=NAME -->` (the app, its test, jest.config.json, tsconfig.json), and the
// packages its `setup.sh` block installs with one `npm install -D` line.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE_BLOCK = /^<!-- snippet file=([\w.-]+) -->\n```\w*\n([^]*?)^```$/gm;
const INSTALL_LINE = /^npm install -D ((?:[@\w./-]+ )*[@\w./-]+)$/;

/**
 * Writes the files `readmePath` names into `dir`; returns the packages its setup.sh installs.
 * Throws when the README has no setup.sh block, or when that block is not one `npm install -D` line.
 *
 * @example
 * writeReadmeProject('/repo/packages/express/README.md', '/tmp/x/express-readme');
 * // ['@pacspace-metering/sandbox', 'jest', '@swc/core', '@swc/jest', '@types/jest', 'typescript', '@types/node']
 */
export function writeReadmeProject(readmePath, dir) {
  mkdirSync(dir, { recursive: true });
  let packages;
  for (const [, name, content] of readFileSync(readmePath, 'utf8').matchAll(FILE_BLOCK)) {
    if (name !== 'setup.sh') {
      writeFileSync(join(dir, name), content);
      continue;
    }
    const install = INSTALL_LINE.exec(content.trim());
    if (!install) throw new Error(`${readmePath}: its setup.sh block should be one "npm install -D <packages>" line, not:\n${content}`);
    packages = install[1].split(' ');
  }
  if (!packages) throw new Error(`${readmePath}: no <!-- snippet file=setup.sh --> block with the npm install -D line of its test set-up`);
  return packages;
}
