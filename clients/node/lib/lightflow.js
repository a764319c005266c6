'use strict';
// A small Lightflow client: the SchedulerService of protos/lightflow/v1, loaded at run time
// with @grpc/proto-loader (no generated files to keep in step), over one or several
// equal scheduler replicas with fail-over.

const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// clients/node/lib -> protos/ of the repository; LIGHTFLOW_PROTOS points elsewhere.
const DEFAULT_PROTO_DIR = path.resolve(__dirname, '..', '..', '..', 'protos');
const CALL_TIMEOUT_MS = 30000;
const FAILOVER_MS = 30000;
const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'ABORTED', 'STOPPED']);

function loadProtocol(protoDir) {
  const definition = protoLoader.loadSync('lightflow/v1/scheduler.proto', {
    includeDirs: [protoDir || process.env.LIGHTFLOW_PROTOS || DEFAULT_PROTO_DIR],
    keepCase: true, // field names as in the .proto files: run_id, workflow_name, ...
    longs: String,
    enums: String, // enum values by name: "RUN_STATUS_SUCCEEDED"
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).lightflow.v1;
}

/** "RUN_STATUS_SUCCEEDED" -> "succeeded", as the Python client and lfctl show it. */
function shortName(enumValue, prefix) {
  return String(enumValue || '').replace(prefix, '').toLowerCase();
}

class LightflowError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'LightflowError';
    this.code = code; // the gRPC status name, e.g. "NOT_FOUND"
  }
}

function toError(err) {
  const name = Object.keys(grpc.status).find((key) => grpc.status[key] === err.code) || 'UNKNOWN';
  return new LightflowError(err.details || err.message, name);
}

class LightflowClient {
  /**
   * @param {string|string[]} addresses "host:port", a comma separated list, or an array
   * @param {object} [options]
   * @param {string} [options.token] the deployment's shared token
   * @param {string} [options.protoDir] folder holding lightflow/v1/*.proto
   * @param {Buffer} [options.rootCerts] PEM CA certificate: use TLS
   */
  constructor(addresses, options = {}) {
    const list = Array.isArray(addresses) ? addresses : String(addresses || '').split(',');
    this.addresses = list.map((a) => a.trim()).filter(Boolean);
    if (this.addresses.length === 0) throw new LightflowError('no scheduler address given', '');
    this.token = options.token || '';
    this.protocol = loadProtocol(options.protoDir);
    this.credentials = options.rootCerts
      ? grpc.credentials.createSsl(options.rootCerts)
      : grpc.credentials.createInsecure();
    this.current = 0;
    this.stubs = new Map();
  }

  metadata() {
    const metadata = new grpc.Metadata();
    if (this.token) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  stub() {
    const address = this.addresses[this.current];
    if (!this.stubs.has(address)) {
      this.stubs.set(address, new this.protocol.SchedulerService(address, this.credentials, {
        'grpc.max_receive_message_length': 512 * 1024 * 1024,
        'grpc.keepalive_time_ms': 10000,
      }));
    }
    return this.stubs.get(address);
  }

  advance() {
    this.current = (this.current + 1) % this.addresses.length;
  }

  /** One unary call; tried on the next replica while replicas are UNAVAILABLE. */
  async unary(method, request) {
    const giveUp = Date.now() + FAILOVER_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await new Promise((resolve, reject) => {
          const deadline = new Date(Date.now() + CALL_TIMEOUT_MS);
          this.stub()[method](request, this.metadata(), { deadline }, (err, response) =>
            err ? reject(err) : resolve(response));
        });
      } catch (err) {
        if (err.code !== grpc.status.UNAVAILABLE || Date.now() > giveUp) throw toError(err);
        this.advance();
        if (attempt % this.addresses.length === 0) await sleep(Math.min(1000, 50 * attempt));
      }
    }
  }

  /** Starts a run of a registered workflow; resolves to the run's id. */
  async startRun(workflowName, args = {}, { keepData = false } = {}) {
    const response = await this.unary('StartRun', startRequest(workflowName, args, keepData));
    return response.run_id;
  }

  async getRun(runId) {
    return (await this.unary('GetRun', { run_id: runId })).run;
  }

  async listWorkflows() {
    return (await this.unary('ListWorkflows', {})).workflows;
  }

  async stopRun(runId) {
    return (await this.unary('StopRun', { run_id: runId })).status;
  }

  /**
   * Follows a run's events from its first (or after `afterEventId`) to its end, calling
   * `onEvent(event)` for each; resolves to the final RUN_ENDED event. When a replica fails
   * the watch moves to the next one and resumes after the last event seen.
   */
  async watchRun(runId, onEvent, { afterEventId = '' } = {}) {
    return this.follow({ runId, cursor: afterEventId }, onEvent);
  }

  /**
   * Starts a run and follows it in one call (WatchRun with `start`): `onStarted(runId)` once
   * the run exists, then `onEvent(event)` for each event; resolves to the final RUN_ENDED
   * event. A retry after a replica failed carries the same request id: one run is started.
   */
  async startAndWatch(workflowName, args, onEvent,
    { keepData = false, onStarted = () => {} } = {}) {
    const start = startRequest(workflowName, args, keepData);
    return this.follow({ runId: '', cursor: '', start, onStarted }, onEvent);
  }

  /** The watch of watchRun and startAndWatch; `state` keeps the run id and the cursor. */
  async follow(state, onEvent) {
    let unavailableSince = null;
    for (;;) {
      const request = state.runId
        ? { run_id: state.runId, after_event_id: state.cursor }
        : { start: state.start };
      try {
        const final = await new Promise((resolve, reject) => {
          let ended = null;
          const call = this.stub().WatchRun(request, this.metadata());
          call.on('data', (response) => {
            unavailableSince = null;
            if (response.started_run_id) {
              state.runId = response.started_run_id;
              state.onStarted(state.runId);
              return;
            }
            const { event } = response;
            state.cursor = event.id;
            onEvent(event);
            if (event.type === 'RUN_EVENT_TYPE_RUN_ENDED') ended = event;
          });
          call.on('error', reject);
          call.on('end', () => resolve(ended));
        });
        if (final) return final;
        // The stream ended without the run's end (its events expired): ask for the status.
        const run = await this.getRun(state.runId);
        return { type: 'RUN_EVENT_TYPE_RUN_ENDED', run_status: run.status, failure: run.failure };
      } catch (err) {
        if (err instanceof LightflowError) throw err;
        const now = Date.now();
        unavailableSince = unavailableSince || now;
        if (err.code !== grpc.status.UNAVAILABLE || now - unavailableSince > FAILOVER_MS) {
          throw toError(err);
        }
        this.advance();
        await sleep(100);
      }
    }
  }

  close() {
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
  }
}

/**
 * A StartRunRequest. Its request id makes a retry on another replica (after one failed
 * mid-call) return the run the first try started instead of starting a second.
 */
function startRequest(workflowName, args, keepData) {
  return {
    workflow_name: workflowName,
    arguments: Object.fromEntries(
      Object.entries(args || {}).map(([key, value]) => [key, String(value)])),
    keep_data: keepData,
    request_id: crypto.randomUUID().replace(/-/g, ''),
  };
}

function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

module.exports = { LightflowClient, LightflowError, FINAL_STATUSES, shortName, loadProtocol };
