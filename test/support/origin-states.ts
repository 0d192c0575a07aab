import type { CircuitState } from '../../src/core/circuit-state';
import type { TestApp } from '../nest/nest-app.fixture';

/** The origin breakers (`http:<origin>`) an app's registry keeps, by name, with their states. */
export const originStates = (app: TestApp): Record<string, CircuitState> =>
  Object.fromEntries(
    app.registry
      .all()
      .filter((breaker) => breaker.name.startsWith('http:'))
      .map((breaker) => [breaker.name, breaker.state]),
  );
