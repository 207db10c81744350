import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { MetricsService } from './metrics.service.js';

/** Counts and times every request, labelled by route pattern rather than raw path. */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const stopTimer = this.metrics.httpDuration.startTimer();
    response.once('finish', () => {
      const route = routePattern(request);
      const labels = { method: request.method, route };
      stopTimer(labels);
      this.metrics.httpRequests.inc({ ...labels, status: String(response.statusCode) });
    });
    next();
  }
}

function routePattern(request: Request): string {
  const path = (request.route as { path?: unknown } | undefined)?.path;

  return typeof path === 'string' ? `${request.baseUrl}${path}` : 'unmatched';
}
