import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Breaker } from '../../src/core/breaker';

describe('loading @opentelemetry/api', () => {
  it('should not load it for a protected call until something registers with it, then load it once', () => {
    const loads = jest.fn();
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/api', () => {
        loads();
        return jest.requireActual('@opentelemetry/api');
      });
      const { traceCall } = jest.requireActual<typeof import('../../src/tracing/call-tracing')>(
        '../../src/tracing/call-tracing',
      );
      const breaker = new Breaker('quotes');

      expect(traceCall(breaker)).toBeUndefined();
      expect(traceCall(breaker)).toBeUndefined();
      expect(loads).not.toHaveBeenCalled();

      // What an SDK's start-up does.
      const { context, trace } =
        jest.requireActual<typeof import('@opentelemetry/api')>('@opentelemetry/api');
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      trace.setGlobalTracerProvider(new BasicTracerProvider());
      try {
        expect(traceCall(breaker)).toBeUndefined();
        expect(loads).toHaveBeenCalledTimes(1);
        const marked = trace.getTracer('test').startActiveSpan('GET /quotes', (span) => {
          const traced = traceCall(breaker);
          span.end();
          return { traced, span };
        });
        expect(marked.traced).toBe(marked.span);
        expect(loads).toHaveBeenCalledTimes(1);
      } finally {
        trace.disable();
        context.disable();
      }
    });
  });
});
