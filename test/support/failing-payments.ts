import { Controller, Get, Inject, Injectable } from '@nestjs/common';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';

/** A client of a payment API that is down: every charge fails, through the `payments` breaker. */
@Injectable()
export class PaymentsClient {
  @CircuitBreaker('payments')
  async charge(): Promise<string> {
    throw new Error('payment API down');
  }
}

/** `GET /pay` charges through PaymentsClient. */
@Controller('pay')
export class PayController {
  constructor(@Inject(PaymentsClient) private readonly payments: PaymentsClient) {}

  @Get()
  pay(): Promise<string> {
    return this.payments.charge();
  }
}
