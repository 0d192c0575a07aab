import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** The two sets of peers the tests run against (jest.config.js): the root's, and compat/nest11's. */
const STACKS = {
  root: join(root, 'node_modules'),
  'compat/nest11': join(root, 'compat', 'nest11', 'node_modules'),
};

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));
const peers = readJson(join(root, 'package.json')).peerDependencies as Record<string, string>;

/** The version a stack has installed of `name`, resolved as Node would from inside it (walking up). */
function installed(stack: string, name: string): string | undefined {
  for (let dir = resolve(stack, '..'); dir.startsWith(root); dir = resolve(dir, '..')) {
    try {
      return readJson(join(dir, 'node_modules', name, 'package.json')).version as string;
    } catch {
      // not in this node_modules: look in the one above
    }
  }
  return undefined;
}

/** `version` satisfies a caret range `^x.y.z` (the only form our peer ranges use). */
function satisfiesCaret(version: string, range: string): boolean {
  const match = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range.trim());
  if (match === null) throw new Error(`peer range part "${range}" is not of the form ^x.y.z`);
  const [want, have] = [match.slice(1).map(Number), version.split('.').map((part) => parseInt(part, 10))];
  const pinned = want[0] > 0 ? 1 : 2; // ^1.2.3 pins the major; ^0.2.3 pins the minor as well
  for (let i = 0; i < pinned; i++) if (have[i] !== want[i]) return false;
  for (let i = pinned; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
}

describe('peerDependencies', () => {
  it.each(Object.entries(peers))('every range of %s (%s) is one a tested stack installs', (name, ranges) => {
    for (const range of ranges.split('||')) {
      const testedBy = Object.entries(STACKS).filter(([, stack]) => {
        const version = installed(stack, name);
        return version !== undefined && satisfiesCaret(version, range);
      });
      expect({ range: range.trim(), testedBy: testedBy.length > 0 }).toEqual({
        range: range.trim(),
        testedBy: true,
      });
    }
  });

  it.each(Object.keys(STACKS))('accept every peer the %s stack tests with', (stackName) => {
    const stack = STACKS[stackName as keyof typeof STACKS];
    for (const [name, ranges] of Object.entries(peers)) {
      const version = installed(stack, name);
      const accepted =
        version !== undefined && ranges.split('||').some((range) => satisfiesCaret(version, range));
      expect({ name, version, accepted }).toEqual({ name, version, accepted: true });
    }
  });
});
