import { EventLoopSampler } from '../../src/core/event-loop-sampler';
import { LOAD_SAMPLER } from '../../src/nest/resilience.constants';
import { closeAllApps, createApp } from './nest-app.fixture';

afterEach(closeAllApps);

describe('The app’s load sampler', () => {
  it('is one EventLoopSampler that every shedding breaker of the app reads, stopped when the app closes', async () => {
    const { app, breaker, close } = await createApp(
      {},
      { breakers: { search: { loadShed: { inFlight: 0 } } } },
    );
    const sampler = app.get<EventLoopSampler>(LOAD_SAMPLER);
    const stop = jest.spyOn(sampler, 'stop');
    const read = jest.spyOn(sampler, 'utilization');
    const search = breaker('search');

    await search.execute(() => search.execute(() => 'ok'));
    expect(sampler).toBeInstanceOf(EventLoopSampler);
    expect(read).toHaveBeenCalledTimes(1);

    await close();
    expect(stop).toHaveBeenCalledTimes(1);
  });
});
