import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type VerificationOutcome = 'accepted' | 'missing' | 'invalid' | 'forbidden' | 'limited';

/** The Prometheus registry of this application instance and the metrics it records. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly keyVerifications = new Counter({
    name: 'api_key_verifications_total',
    help: 'API keys presented to the guard, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly keyDerivations = new Counter({
    name: 'api_key_scrypt_derivations_total',
    help: 'scrypt derivations made to verify presented API keys',
    registers: [this.registry],
  });

  readonly legacyKeys = new Gauge({
    name: 'legacy_api_keys',
    help: 'Keys still holding an unsalted SHA-256 digest, by status, as of the last sweep',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
