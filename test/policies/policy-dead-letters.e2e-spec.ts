import { Controller, Get, Injectable, Param, Scope } from '@nestjs/common';
import { join } from 'node:path';
import { InvalidBreakerOptionsError } from '../../src/core/errors';
import { DeadLetterArgumentsError } from '../../src/nest/dead-letters/dead-letter-errors';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { Resilient } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { useTempDir } from '../support/temp-dir';
import { closeAllApps, closeApp, createApp } from '../nest/nest-app.fixture';

/** A payment provider that fails its next `failures` calls, and remembers what it was asked. */
@Injectable()
class PaymentGateway {
  static failures = Infinity;
  static captured: unknown[][] = [];

  @Resilient('payments')
  async capture(orderId: string, payment: { amount: number; at?: unknown }): Promise<string> {
    PaymentGateway.captured.push([orderId, payment]);
    if (PaymentGateway.failures-- > 0) throw new Error('gateway down');
    return `captured ${orderId}`;
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly gateway: PaymentGateway) {}

  @Get(':id/pay')
  pay(@Param('id') id: string): Promise<string> {
    return this.gateway.capture(id, { amount: 5 });
  }
}

const payments = (store?: ResilienceModuleRootOptions['store']): ResilienceModuleRootOptions => ({
  policies: { payments: { retry: { attempts: 2, delay: 0, budget: false }, deadLetter: true } },
  ...(store && { store }),
});

async function paymentsApp(store?: ResilienceModuleRootOptions['store']) {
  const app = await createApp(
    { providers: [PaymentGateway], controllers: [OrdersController] },
    payments(store),
  );
  return { ...app, deadLetters: app.app.get(DeadLetters), gateway: app.app.get(PaymentGateway) };
}

beforeEach(() => {
  PaymentGateway.failures = Infinity;
  PaymentGateway.captured = [];
});
afterEach(closeAllApps);

describe('a policy with deadLetter: true', () => {
  it('should keep a call that finally failed, after its retries, with its arguments and attempts', async () => {
    const { http, deadLetters } = await paymentsApp();

    await http().get('/orders/o-1/pay').expect(500);

    expect(PaymentGateway.captured).toHaveLength(3);
    await expect(deadLetters.list()).resolves.toEqual([
      {
        id: expect.any(String),
        policy: 'payments',
        args: ['o-1', { amount: 5 }],
        error: { name: 'Error', message: 'gateway down' },
        attempts: 3,
        at: expect.any(Number),
      },
    ]);
  });

  it('should keep the arguments as they were when the call began, though the method changed them', async () => {
    @Injectable()
    class Mailer {
      @Resilient('payments')
      async send(order: { to: string[]; lastTry?: unknown }): Promise<void> {
        order.to.push('audit@example.com');
        order.lastTry = new Date();
        throw new Error('smtp down');
      }
    }
    const t = await createApp({ providers: [Mailer] }, payments());

    await expect(t.app.get(Mailer).send({ to: ['alice@example.com'] })).rejects.toThrow('smtp down');
    const [letter] = await t.app.get(DeadLetters).list();
    expect(letter.args).toEqual([{ to: ['alice@example.com'] }]);
  });

  it('should keep nothing for a call that succeeds after a retry', async () => {
    const { gateway, deadLetters } = await paymentsApp();
    PaymentGateway.failures = 1;

    await expect(gateway.capture('o-2', { amount: 1 })).resolves.toBe('captured o-2');
    await expect(deadLetters.list()).resolves.toEqual([]);
  });

  it('should refuse arguments a dead letter could not keep before the method runs', async () => {
    const { gateway, deadLetters } = await paymentsApp();

    const refused = gateway.capture('o-3', { amount: 5, at: new Date(0) });

    await expect(refused).rejects.toBeInstanceOf(DeadLetterArgumentsError);
    await expect(refused).rejects.toThrow('Policy "payments" keeps dead letters');
    expect(PaymentGateway.captured).toEqual([]);
    await expect(deadLetters.list()).resolves.toEqual([]);
  });

  it('should replay a letter through the policy: kept while it fails, removed once it succeeds', async () => {
    const { gateway, deadLetters } = await paymentsApp();
    await expect(gateway.capture('o-4', { amount: 7 })).rejects.toThrow('gateway down');
    const [letter] = await deadLetters.list();
    PaymentGateway.captured = [];

    const failed = await deadLetters.replay(letter.id);

    expect(failed).toMatchObject({ ok: false, error: { message: 'gateway down' } });
    expect(PaymentGateway.captured).toHaveLength(3);
    await expect(deadLetters.list()).resolves.toEqual([letter]);

    PaymentGateway.failures = 0;
    PaymentGateway.captured = [];
    await expect(deadLetters.replay(letter.id)).resolves.toMatchObject({ ok: true });
    expect(PaymentGateway.captured).toEqual([['o-4', { amount: 7 }]]);
    await expect(deadLetters.list()).resolves.toEqual([]);
  });

  describe('with the sqlite store', () => {
    const dir = useTempDir();

    it('should keep, before its store closes, the letter of a call in its retry backoff when the app closes', async () => {
      const options = {
        policies: {
          payments: { retry: { attempts: 1, delay: 200, jitter: 'none' as const }, deadLetter: true },
        },
        store: { type: 'sqlite' as const, path: join(dir(), 'state.db') },
      };
      const first = await createApp({ providers: [PaymentGateway] }, options);
      const call = first.app.get(PaymentGateway).capture('o-6', { amount: 6 });
      call.catch(() => undefined);
      // The first attempt failed: the call waits out its backoff, in no breaker.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await closeApp(first.app);
      await expect(call).rejects.toThrow('gateway down');
      expect(PaymentGateway.captured).toHaveLength(2);

      const second = await createApp({ providers: [PaymentGateway] }, options);
      await expect(second.app.get(DeadLetters).list()).resolves.toMatchObject([
        { args: ['o-6', { amount: 6 }] },
      ]);
    });

    it('should replay after a restart a letter kept before it', async () => {
      const store = { type: 'sqlite' as const, path: join(dir(), 'state.db') };
      const first = await paymentsApp(store);
      await first.http().get('/orders/o-5/pay').expect(500);
      await closeApp(first.app);

      PaymentGateway.failures = 0;
      PaymentGateway.captured = [];
      const second = await paymentsApp(store);
      const [letter] = await second.deadLetters.list();
      expect(letter).toMatchObject({ policy: 'payments', args: ['o-5', { amount: 5 }], attempts: 3 });

      await expect(second.deadLetters.replay(letter.id)).resolves.toMatchObject({ ok: true });
      expect(PaymentGateway.captured).toEqual([['o-5', { amount: 5 }]]);
      await expect(second.deadLetters.list()).resolves.toEqual([]);
    });
  });

  describe('boot checks', () => {
    async function bootError(providers: unknown[]): Promise<InvalidBreakerOptionsError> {
      try {
        await createApp({ providers: providers as never[] }, payments());
      } catch (error) {
        return error as InvalidBreakerOptionsError;
      }
      throw new Error('expected the boot to fail');
    }

    it('should refuse two methods sharing one dead-letter policy, since a replay must know what to call', async () => {
      @Injectable()
      class Refunds {
        @Resilient('payments')
        async refund(orderId: string): Promise<string> {
          return orderId;
        }
      }

      const error = await bootError([PaymentGateway, Refunds]);

      expect(error).toBeInstanceOf(InvalidBreakerOptionsError);
      expect(error).toMatchObject({ breaker: 'payments', key: 'deadLetter', scope: 'policy' });
      expect(error.message).toMatch(
        /(PaymentGateway\.capture|Refunds\.refund) and (Refunds\.refund|PaymentGateway\.capture) both use it/,
      );
    });

    it('should refuse a dead-letter policy on a request-scoped provider, which a replay could not call', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class ScopedPayments {
        @Resilient('payments')
        async capture(orderId: string): Promise<string> {
          return orderId;
        }
      }

      const error = await bootError([ScopedPayments]);

      expect(error).toMatchObject({ breaker: 'payments', key: 'deadLetter', scope: 'policy' });
      expect(error.message).toContain('ScopedPayments.capture is request- or transient-scoped');
    });
  });
});
