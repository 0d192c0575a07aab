import { versionOf } from '../support/peers';

declare const EXPECTED_PEERS: Record<string, string>;

/**
 * Each Jest project runs against the peers it names (jest.config.js `globals`), so a mapping
 * that silently fell back to the root's peers fails here instead of testing nothing new.
 */
describe('the peers this test run resolves', () => {
  it.each(Object.entries(EXPECTED_PEERS))('%s is %s.x', (peer, release) => {
    expect(versionOf(peer)).toMatch(new RegExp(`^${release.replace('.', '\\.')}\\.`));
  });
});
