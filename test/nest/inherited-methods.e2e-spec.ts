import { Controller, Get, Inject, Injectable, mixin, type Type } from '@nestjs/common';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { Retry } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { HealthModule } from '../terminus/health-app.fixture';
import { closeAllApps, createApp, type TestApp } from './nest-app.fixture';

/**
 * Decorated methods that subclasses inherit, as generic base clients and base controllers have
 * them: an unnamed breaker is the subclass's own (`Subclass.method`), a named one is shared.
 */

afterEach(closeAllApps);

const failing = new Set<string>();

abstract class BaseClient {
  abstract readonly target: string;

  @CircuitBreaker()
  async fetch(): Promise<string> {
    if (failing.has(this.target)) throw new Error(`${this.target} down`);
    return `${this.target} ok`;
  }

  @CircuitBreaker('downstream')
  async ping(): Promise<string> {
    return `${this.target} pong`;
  }

  @Retry({ attempts: 1, delay: 1 })
  @CircuitBreaker()
  async fetchTwice(): Promise<string> {
    return this.fetch();
  }
}

@Injectable()
class PaymentsClient extends BaseClient {
  readonly target = 'payments';
}

@Injectable()
class InventoryClient extends BaseClient {
  readonly target = 'inventory';

  /** An override that calls the method it overrides: still through a breaker, the subclass's. */
  override async fetch(): Promise<string> {
    return `${await super.fetch()} (cached)`;
  }
}

abstract class CrudController {
  abstract readonly resource: string;

  @CircuitBreaker()
  @Get()
  async list(): Promise<string> {
    if (failing.has(this.resource)) throw new Error(`${this.resource} down`);
    return this.resource;
  }
}

@Controller('users')
class UsersController extends CrudController {
  readonly resource = 'users';
}

@Controller('orders')
class OrdersController extends CrudController {
  readonly resource = 'orders';
}

/** A base controller protected at class level, as `@CircuitBreaker()` on a controller class does. */
@CircuitBreaker()
abstract class ProtectedCrudController {
  abstract readonly resource: string;

  @Get()
  async list(): Promise<string> {
    if (failing.has(this.resource)) throw new Error(`${this.resource} down`);
    return this.resource;
  }
}

@Controller('invoices')
class InvoicesController extends ProtectedCrudController {
  readonly resource = 'invoices';
}

@Controller('refunds')
class RefundsController extends ProtectedCrudController {
  readonly resource = 'refunds';
}

@Controller('clients')
class ClientsController {
  constructor(
    @Inject(PaymentsClient) private readonly payments: PaymentsClient,
    @Inject(InventoryClient) private readonly inventory: InventoryClient,
  ) {}

  @Get('payments')
  payments_(): Promise<string> {
    return this.payments.fetch();
  }

  @Get('inventory')
  inventory_(): Promise<string> {
    return this.inventory.fetch();
  }
}

/** A provider class made by a function, as Nest's mixin() makes them: mixin() renames the class at random. */
function cacheClient(region: string): Type<{ read(): Promise<string> }> {
  class CacheClient {
    @CircuitBreaker()
    async read(): Promise<string> {
      return region;
    }
  }
  return mixin(CacheClient);
}
const EuCache = cacheClient('eu');

/** `failures` requests to `path` that fail (500), then one its open breaker rejects (503): that answer. */
async function opensAfter(t: TestApp, path: string, failures: number) {
  for (let i = 0; i < failures; i++) await t.http().get(path).expect(500);
  return t.http().get(path).expect(503);
}

const start = (options: ResilienceModuleRootOptions = { defaults: { failureThreshold: 2 } }) =>
  createApp(
    {
      imports: [HealthModule],
      controllers: [
        ClientsController,
        UsersController,
        OrdersController,
        InvoicesController,
        RefundsController,
      ],
      providers: [PaymentsClient, InventoryClient, EuCache],
    },
    options,
  );

beforeEach(() => failing.clear());

describe('a method inherited from a base class with an unnamed @CircuitBreaker()', () => {
  it("should run through each provider's own breaker, so one failing dependency opens only its own", async () => {
    const t = await start();
    failing.add('payments');

    const rejected = await opensAfter(t, '/clients/payments', 2);
    await t.http().get('/clients/inventory').expect(200, 'inventory ok (cached)');

    expect(rejected.body.breaker).toBe('PaymentsClient.fetch');
    expect(t.breaker('InventoryClient.fetch').snapshot()).toMatchObject({ state: 'closed', calls: 1 });
    expect(t.registry.has('BaseClient.fetch')).toBe(false);
  });

  it.each([
    [
      'a base controller (its method decorated)',
      'users',
      'orders',
      'UsersController',
      'OrdersController',
      'CrudController',
    ],
    [
      'a base controller protected at class level',
      'invoices',
      'refunds',
      'InvoicesController',
      'RefundsController',
      'ProtectedCrudController',
    ],
  ])(
    'should give each controller extending %s its own breaker',
    async (_, down, up, downController, upController, base) => {
      const t = await start();
      failing.add(down);

      await opensAfter(t, `/${down}`, 2);
      await t.http().get(`/${up}`).expect(200, up);

      expect(t.breaker(`${downController}.list`).state).toBe('open');
      expect(t.breaker(`${upController}.list`).state).toBe('closed');
      expect(t.registry.has(`${base}.list`)).toBe(false);
    },
  );

  it("should create each subclass's breaker at start-up, so health and metrics show it before any call", async () => {
    const t = await start();

    // InventoryClient.fetch is an override: the base method it calls is found at its first call.
    const names = t.registry.all().map((breaker) => breaker.name);
    expect(names.sort()).toEqual([
      'CacheClient.read',
      'InventoryClient.fetchTwice',
      'InvoicesController.list',
      'OrdersController.list',
      'PaymentsClient.fetch',
      'PaymentsClient.fetchTwice',
      'RefundsController.list',
      'UsersController.list',
      'downstream',
    ]);
  });

  it("should run a retried call through the subclass's breaker", async () => {
    const t = await start();

    await expect(t.app.get(PaymentsClient).fetchTwice()).resolves.toBe('payments ok');

    expect(t.breaker('PaymentsClient.fetchTwice').snapshot().calls).toBe(1);
    expect(t.registry.has('BaseClient.fetchTwice')).toBe(false);
  });

  it("should not make the declaring class's name a per-key one when a policy's boot check reads its options", async () => {
    const t = await start();

    await expect(t.app.get(PaymentsClient).fetchTwice()).resolves.toBe('payments ok');

    // A store brings back per-key breakers of declared names only: BaseClient.fetchTwice has none.
    expect(t.registry.declaresPerKey('BaseClient.fetchTwice')).toBe(false);
  });
});

describe('an unnamed @CircuitBreaker() in a class renamed by mixin()', () => {
  it('should keep the name of the class as written, not the random one', async () => {
    const t = await start();

    await expect(t.app.get(EuCache).read()).resolves.toBe('eu');

    expect(t.breaker('CacheClient.read').snapshot().calls).toBe(1);
    expect(t.registry.all().filter((breaker) => breaker.name.endsWith('.read'))).toHaveLength(1);
  });
});

describe('a method inherited with a named @CircuitBreaker', () => {
  it('should share the one breaker the name gives among every subclass', async () => {
    const t = await start();

    await t.app.get(PaymentsClient).ping();
    await t.app.get(InventoryClient).ping();

    expect(t.breaker('downstream').snapshot().calls).toBe(2);
  });
});

describe("options configured under the base class's Class.method", () => {
  it("should apply to each subclass's own breaker, each keeping its own state, with no breaker of the base class's name", async () => {
    const t = await start({
      defaults: { failureThreshold: 5 },
      breakers: { 'BaseClient.fetch': { failureThreshold: 2, critical: true } },
    });
    failing.add('payments');

    const rejected = await opensAfter(t, '/clients/payments', 2);
    await t.http().get('/clients/inventory').expect(200, 'inventory ok (cached)');

    expect(rejected.body.breaker).toBe('PaymentsClient.fetch');
    const health = await t.http().get('/health/ready').expect(503);
    expect(health.body.details.circuit_breakers).toMatchObject({
      status: 'down',
      breakers: {
        'PaymentsClient.fetch': { state: 'open', critical: true },
        'InventoryClient.fetch': { state: 'closed', critical: true },
      },
    });
    expect(health.body.details.circuit_breakers.breakers).not.toHaveProperty(['BaseClient.fetch']);
    expect(t.registry.has('BaseClient.fetch')).toBe(false);
  });

  it("should apply to each controller's breaker of a base controller's handler, method or class level", async () => {
    const t = await start({
      defaults: { failureThreshold: 5 },
      breakers: {
        'CrudController.list': { failureThreshold: 2 },
        'ProtectedCrudController.list': { failureThreshold: 1 },
      },
    });
    failing.add('users');
    failing.add('invoices');

    await opensAfter(t, '/users', 2);
    await opensAfter(t, '/invoices', 1);
    await t.http().get('/orders').expect(200, 'orders');
    await t.http().get('/refunds').expect(200, 'refunds');

    expect(t.breaker('OrdersController.list').state).toBe('closed');
    expect(t.breaker('RefundsController.list').state).toBe('closed');
    expect(t.registry.has('CrudController.list')).toBe(false);
    expect(t.registry.has('ProtectedCrudController.list')).toBe(false);
  });

  it("should give way to a subclass's own configured options", async () => {
    const t = await start({
      defaults: { failureThreshold: 5 },
      breakers: {
        'BaseClient.fetch': { failureThreshold: 3 },
        'PaymentsClient.fetch': { failureThreshold: 1 },
      },
    });
    failing.add('payments');
    failing.add('inventory');

    await opensAfter(t, '/clients/payments', 1);
    await opensAfter(t, '/clients/inventory', 3);
  });

  it('should apply to the breaker of a subclass whose method runs through a policy too', async () => {
    const t = await start({ breakers: { 'BaseClient.fetchTwice': { failureThreshold: 7 } } });

    await expect(t.app.get(PaymentsClient).fetchTwice()).resolves.toBe('payments ok');

    expect(t.breaker('PaymentsClient.fetchTwice').options.failureThreshold).toBe(7);
    expect(t.breaker('InventoryClient.fetchTwice').options.failureThreshold).toBe(7);
    expect(t.registry.has('BaseClient.fetchTwice')).toBe(false);
  });

  it("should not make the declaring class's name a per-key one when a policy's boot check reads its options", async () => {
    const t = await start();

    await expect(t.app.get(PaymentsClient).fetchTwice()).resolves.toBe('payments ok');

    // A store brings back per-key breakers of declared names only: BaseClient.fetchTwice has none.
    expect(t.registry.declaresPerKey('BaseClient.fetchTwice')).toBe(false);
  });
});
