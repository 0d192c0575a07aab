const STATES = ['closed', 'disabled', 'forced_open', 'half_open', 'open'];

/** The one-hot `circuit_breaker_state` series of a breaker in `current`, as `Scrape.series` lists them. */
export const oneHot = (breaker: string, current: string): string[] =>
  STATES.map((state) => `breaker=${breaker},state=${state} ${state === current ? 1 : 0}`).sort();
