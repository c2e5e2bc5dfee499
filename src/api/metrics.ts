// Prometheus metrics (prom-client), one registry per server. Counters the protocol layers already
// keep (CoapEndpoint.stats, RequestSender.stats, MqttBridge.stats) are read at scrape time rather
// than incremented on the hot path; registration events are counted from the event bus.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ClusterStats } from '../cluster/cluster-node.ts';
import type { TakeoverStats } from '../cluster/deployment-takeover.ts';
import type { SharedRecordsStats } from '../cluster/shared-records.ts';
import type { BridgeStats } from '../mqtt/mqtt-bridge.ts';
import type { LwM2mServer } from '../server.ts';
import { sseStats } from './routes/events.ts';
import { processFaults } from '../process-guards.ts';
import { registerEventLoopDelay } from './event-loop-delay.ts';

export type MetricsOptions = {
  /** MQTT bridge counters, when the bridge runs */
  mqtt?: { stats: BridgeStats; connected: boolean };
  /** label every series with the node id (several nodes sharing Redis) */
  nodeId?: string;
  /** cluster counters (several nodes sharing Redis) */
  cluster?: { stats: ClusterStats; records?: { stats: SharedRecordsStats } };
  /** deployment leases and take-overs (several nodes sharing Redis) */
  takeover?: { stats: TakeoverStats };
};

export type ServerMetrics = { registry: Registry; close(): void };

/** A counter whose value lives elsewhere: set to the absolute value on every scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createServerMetrics(server: LwM2mServer, opts: MetricsOptions = {}): ServerMetrics {
  const registry = new Registry();
  if (opts.nodeId) registry.setDefaultLabels({ node: opts.nodeId });
  // process and runtime metrics, among them nodejs_eventloop_lag_seconds and its percentiles
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  // ...whose lag percentiles include the 20 ms sampling period: this one is the delay alone (issue 17)
  const stopDelay = registerEventLoopDelay(registry);

  new Gauge({
    name: 'lwm2m_registrations', help: 'Registered devices (in the shared store: the whole fleet)', registers: [registry],
    async collect() {
      try {
        this.set(await server.registrations.store.count());
      } catch {
        // store unreachable: leave the series out rather than fail the whole scrape (see /ready)
        this.reset();
      }
    },
  });

  const modelHealth = new Counter({ name: 'ml_model_health_signals_total', help: 'Model drift signals (mean confidence fell past the threshold) and recoveries', labelNames: ['signal'] as const, registers: [registry] });
  const modelDrifting = new Gauge({ name: 'ml_model_drifting', help: '1 while a model version (digest prefix) drifts, 0 once it recovered', labelNames: ['model'] as const, registers: [registry] });
  const events = new Counter({ name: 'lwm2m_registration_events_total', help: 'Register, update and de-register events (reason: deregistered, expired, replaced)', labelNames: ['type', 'reason'] as const, registers: [registry] });
  const off = server.events.on((e) => {
    if (e.type === 'registration') events.inc({ type: 'registration', reason: '' });
    else if (e.type === 'update') events.inc({ type: 'update', reason: '' });
    else if (e.type === 'deregistration') events.inc({ type: 'deregistration', reason: e.reason });
    else if (e.type === 'model-health') {
      modelHealth.inc({ signal: e.signal });
      // 1 while a model version drifts (issue 16 §3); the label is the module digest's first 12 characters
      modelDrifting.set({ model: e.modelDigest.slice(0, 12) }, e.signal === 'drift' ? 1 : 0);
    }
  });

  new Counter({
    name: 'lwm2m_downlink_responses_total', help: 'DM requests sent to devices, by the CoAP response code (or timeout, reset, error)', labelNames: ['code'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of server.sender.stats.responses) this.inc({ code }, n);
    },
  });

  const coap = server.endpoint.stats;
  mirroredCounter(registry, 'coap_datagrams_in_total', 'UDP datagrams received', () => coap.datagramsIn);
  mirroredCounter(registry, 'coap_datagrams_out_total', 'UDP datagrams sent', () => coap.datagramsOut);
  mirroredCounter(registry, 'coap_retransmissions_total', 'CON retransmissions (RFC 7252 §4.2)', () => coap.retransmissions);
  mirroredCounter(registry, 'coap_duplicates_total', 'Duplicate messages answered from the deduplication cache (RFC 7252 §4.5)', () => coap.duplicates);
  mirroredCounter(registry, 'coap_malformed_total', 'Datagrams that did not parse as CoAP', () => coap.malformed);
  mirroredCounter(registry, 'coap_blockwise_bytes_in_total', 'Payload bytes received in Block1/Block2 transfers (RFC 7959)', () => coap.blockBytesIn);
  mirroredCounter(registry, 'coap_blockwise_bytes_out_total', 'Payload bytes sent in Block1/Block2 transfers (RFC 7959)', () => coap.blockBytesOut);
  new Gauge({ name: 'coap_exchanges_in_flight', help: 'CoAP exchanges under way', registers: [registry], collect() { this.set(server.endpoint.inFlight); } });

  // issue 14: every bound is a metric, its configured value and what it refused
  const admission = server.admission;
  new Counter({
    name: 'lwm2m_limit_rejections_total', help: 'Requests refused by a resource bound (5.03, 4.13 or 429), by bound', labelNames: ['limit'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [limit, n] of Object.entries(admission.rejections)) this.inc({ limit }, n);
      const b1 = server.endpoint.stats.block1Refused;
      this.inc({ limit: 'block1' }, b1);
      for (const [limit, n] of Object.entries(server.limitRejections())) this.inc({ limit }, n);
      this.inc({ limit: 'sse-clients' }, sseStats.refused);
      this.inc({ limit: 'sse-slow-reader' }, sseStats.slowClientsEnded);
    },
  });
  new Gauge({
    name: 'lwm2m_limit', help: 'Configured resource bounds (src/main.ts flags)', labelNames: ['limit'] as const, registers: [registry],
    collect() {
      for (const [limit, v] of Object.entries(server.limitValues())) this.set({ limit }, v);
    },
  });
  new Gauge({ name: 'coap_block1_transfers_in_progress', help: 'Block1 reassemblies under way', registers: [registry], collect() { this.set(server.endpoint.block1Pending.transfers); } });
  new Gauge({ name: 'coap_block1_buffered_bytes', help: 'Bytes held by Block1 reassemblies under way', registers: [registry], collect() { this.set(server.endpoint.block1Pending.bytes); } });

  mirroredCounter(registry, 'process_unhandled_rejections_total', 'Promise rejections nobody handled (logged; each one is a bug)', () => processFaults.unhandledRejections);

  const mqtt = opts.mqtt;
  if (mqtt) {
    mirroredCounter(registry, 'mqtt_published_total', 'Events the broker acknowledged (QoS 1)', () => mqtt.stats.published);
    mirroredCounter(registry, 'mqtt_dropped_total', 'Events dropped: broker away past the offline bound, or publish failed', () => mqtt.stats.dropped);
    mirroredCounter(registry, 'mqtt_commands_total', 'Commands received on <prefix>/+/cmd/+', () => mqtt.stats.commands);
    mirroredCounter(registry, 'mqtt_command_errors_total', 'Commands answered with an error', () => mqtt.stats.commandErrors);
    new Gauge({ name: 'mqtt_connected', help: '1 while connected to the broker', registers: [registry], collect() { this.set(mqtt.connected ? 1 : 0); } });
  }

  const cluster = opts.cluster;
  if (cluster) {
    mirroredCounter(registry, 'cluster_requests_forwarded_total', 'Requests sent to the node serving the device', () => cluster.stats.forwarded);
    mirroredCounter(registry, 'cluster_requests_served_total', 'Requests run here for another node', () => cluster.stats.served);
    mirroredCounter(registry, 'cluster_events_published_total', 'Own events published to the other nodes', () => cluster.stats.eventsOut);
    mirroredCounter(registry, 'cluster_events_received_total', "Other nodes' events received", () => cluster.stats.eventsIn);
    mirroredCounter(registry, 'cluster_publish_failures_total', 'Publishes to Redis that failed', () => cluster.stats.publishFailures);
    const records = cluster.records;
    if (records) {
      mirroredCounter(registry, 'cluster_observations_taken_over_total', 'Observations of another node re-established here (the device registered here)', () => records.stats.observationsTaken);
      mirroredCounter(registry, 'cluster_requests_taken_over_total', 'Queued requests of another node taken over here', () => records.stats.requestsTaken);
      mirroredCounter(registry, 'cluster_shared_write_failures_total', 'Writes of observations/queued requests to the shared store that failed', () => records.stats.writeFailures);
    }
  }
  const takeover = opts.takeover;
  if (takeover) {
    mirroredCounter(registry, 'cluster_deployments_taken_over_total', 'Running deployments of a node that stopped renewing its lease, taken over here', () => takeover.stats.takenOver);
    mirroredCounter(registry, 'cluster_deployment_leases_lost_total', 'Lease renewals that found another node holding a deployment this node runs', () => takeover.stats.lost);
  }

  return {
    registry, close: () => {
      off();
      stopDelay();
    },
  };
}
