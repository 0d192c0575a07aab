import { misspelledName } from '../../src/core/misspelled-name';

describe('misspelledName', () => {
  const configured = ['payments', 'inventory', 'llm', 'search-api'];

  it.each([
    ['paymnets', 'payments'],
    ['payment', 'payments'],
    ['Payments', 'payments'],
    ['inventroy', 'inventory'],
    ['search_api', 'search-api'],
  ])('should take %s for a misspelling of %s', (name, meant) => {
    expect(misspelledName(name, configured)).toBe(meant);
  });

  it.each([['payments'], ['orders'], ['llms'], ['lmm'], ['search-apis-v2']])(
    'should not take %s for a misspelling',
    (name) => {
      expect(misspelledName(name, configured)).toBeUndefined();
    },
  );

  it('should pick the closest of two near names', () => {
    expect(misspelledName('paymentz', ['paymnts', 'payments'])).toBe('payments');
  });
});
