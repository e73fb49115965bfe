import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own so several gateways can live in one process. */
export interface GatewayMetrics {
  registry: Registry;
  /** Every answered request by route and outcome (`stored`, `duplicate`, `dropped`, `unrouted`, `unauthorized`…). */
  requests: Counter<'route' | 'outcome'>;
  /** Time from receiving a request to answering it. */
  requestSeconds: Histogram<'route'>;
  /** Time JetStream took to store (or refuse) one event. */
  publishSeconds: Histogram<'result'>;
  /** Events handed to JetStream by type and result (`stored`, `duplicate`, `failed`). */
  events: Counter<'type' | 'result'>;
}

/**
 * Creates the metrics on a fresh registry.
 * @param withDefaults also collect the process metrics (heap, event loop lag); off in tests. @default true
 */
export function createMetrics({ withDefaults = true }: { withDefaults?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  // Buckets from 0.5 ms: a stored publish on loopback takes about a millisecond, Slack gives up at 3 s.
  const buckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    registry,
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Webhook requests answered, by route and outcome.',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time from receiving a request to answering it.',
      labelNames: ['route'],
      buckets,
      registers: [registry],
    }),
    publishSeconds: new Histogram({
      name: 'gateway_publish_duration_seconds',
      help: 'Time JetStream took to store (or refuse) one event.',
      labelNames: ['result'],
      buckets,
      registers: [registry],
    }),
    events: new Counter({
      name: 'gateway_events_total',
      help: 'Events handed to JetStream, by type and result (stored, duplicate, failed).',
      labelNames: ['type', 'result'],
      registers: [registry],
    }),
  };
}
