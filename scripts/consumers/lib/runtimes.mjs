// The Node.js binaries the consumers run on: this one, or another major from the npm registry
// (`npx -y node@N`), spawned directly so that signals reach the app and not a wrapper.
import { execFileSync } from 'node:child_process';

const found = new Map();

/**
 * The path of a Node.js binary of major version `major`.
 *
 * @example
 * nodeBinary(24); // '/root/.npm/_npx/.../node/bin/node'
 */
export function nodeBinary(major) {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  if (!found.has(major)) {
    const path = execFileSync('npx', ['-y', `node@${major}`, '-p', 'process.execPath'], { encoding: 'utf8', timeout: 300_000 }).trim();
    found.set(major, path);
  }
  return found.get(major);
}

/**
 * `process.version` of a binary.
 *
 * @example
 * nodeVersion(nodeBinary(22)); // 'v22.23.3'
 */
export function nodeVersion(binary) {
  return execFileSync(binary, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
}
