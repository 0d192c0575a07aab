import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BREAKER_METRICS } from '../../src/nest/metric-names';

describe('deploy/published-series.json', () => {
  it('lists exactly the series the module publishes, with their types (the alert and dashboard checks read it)', () => {
    const listed: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'deploy', 'published-series.json'), 'utf8'),
    );

    expect(listed).toEqual(Object.fromEntries(Object.values(BREAKER_METRICS).map((m) => [m.name, m.type])));
  });
});
