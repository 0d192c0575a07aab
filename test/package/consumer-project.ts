import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/**
 * A consumer project in a temp folder whose node_modules holds the root's packages but those
 * named (or scopes) in `leftOut`, and this package as a link to the checkout.
 */
export function consumerWithout(leftOut: string[]): string {
  const folder = mkdtempSync(join(tmpdir(), 'nest-resilience-bare-'));
  const link = (from: string, to: string) => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) {
      const name = `${from === join(root, 'node_modules') ? '' : `${basename(from)}/`}${entry}`;
      if (entry.startsWith('.') || leftOut.includes(name)) continue;
      if (entry.startsWith('@')) link(join(from, entry), join(to, entry));
      else symlinkSync(join(from, entry), join(to, entry));
    }
  };
  link(join(root, 'node_modules'), join(folder, 'node_modules'));
  symlinkSync(root, join(folder, 'node_modules', 'nest-resilience'));
  return folder;
}

/**
 * Replaces the link to the checkout in `consumer` by a copy of dist/ and package.json, as an
 * installed package is: its own imports (types, optional peers) resolve from the consumer's
 * node_modules, not the checkout's.
 */
export function installCopy(consumer: string): void {
  const installed = join(consumer, 'node_modules', 'nest-resilience');
  rmSync(installed);
  cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
  copyFileSync(join(root, 'package.json'), join(installed, 'package.json'));
}
