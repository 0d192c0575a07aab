import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { BreakerRegistry } from '../core/registry';
import { type AxiosInstanceLike, protectAxiosInstance } from '../http/axios-protection';
import { originBreakersOf } from '../http/origin-breakers';
import { protectGlobalFetch } from '../http/resilient-fetch';
import type { ResilienceModuleOptions } from './resilience-options.interface';
import * as messages from './resilience.messages';
import { LOG_CONTEXT, RESILIENCE_OPTIONS } from './resilience.constants';

/**
 * Puts the origin breakers (`http:<origin>`) in front of the clients the module's `http`
 * option names, while the app runs: the global `fetch` (`fetch: true`) and the Axios instance
 * of every `HttpService` of `@nestjs/axios` (`axios: true`: each `HttpModule.register()` makes
 * its own, each protected once). `app.close()` takes every protection off again. Neither
 * `axios` nor `@nestjs/axios` is loaded unless an `HttpService` exists.
 */
@Injectable()
export class OutgoingHttpProtection implements OnModuleInit, OnApplicationShutdown {
  private readonly undo: Array<() => void> = [];

  constructor(
    @Inject(RESILIENCE_OPTIONS) private readonly options: ResilienceModuleOptions,
    @Inject(BreakerRegistry) private readonly registry: BreakerRegistry,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
  ) {}

  async onModuleInit(): Promise<void> {
    const { http } = this.options;
    if (http === undefined) return;
    const origins = originBreakersOf(this.registry, http);
    if (http.fetch === true) this.undo.push(protectGlobalFetch(origins));
    if (http.axios !== true) return;
    let found = 0;
    for (const instance of this.axiosInstances()) {
      found++;
      const off = await protectAxiosInstance(instance, origins);
      if (off !== undefined) this.undo.push(off);
    }
    // The option would otherwise do nothing in silence (no HttpModule imported, or no @nestjs/axios).
    if (found === 0) new Logger(LOG_CONTEXT).warn(messages.NO_HTTP_SERVICE);
  }

  onApplicationShutdown(): void {
    for (const off of this.undo.splice(0).reverse()) off();
  }

  /** The Axios instance of every `HttpService` (of any class with an `axiosRef`) the app has. */
  private *axiosInstances(): Iterable<AxiosInstanceLike> {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
      const axios = (instance as { axiosRef?: unknown } | null)?.axiosRef;
      if (isAxiosInstance(axios)) yield axios;
    }
  }
}

/** An Axios instance is a function (it sends requests) with `defaults` and `interceptors`. */
function isAxiosInstance(value: unknown): value is AxiosInstanceLike {
  const candidate = value as { defaults?: unknown; interceptors?: { request?: unknown } };
  return (
    typeof value === 'function' &&
    typeof candidate.defaults === 'object' &&
    typeof candidate.interceptors?.request === 'object'
  );
}
