#!/usr/bin/env node
'use strict';
// Starts a registered Lightflow workflow by name, prints what its tasks print as they run,
// and exits with its final status (0 only when it succeeded).
//
//   node start-run.js [--address host:port,...] [--token T] [--keep-data] NAME [KEY=VALUE ...]
//
// --address defaults to $LIGHTFLOW_ADDRESS, --token to $LIGHTFLOW_TOKEN.

const { parseArgs } = require('node:util');
const { LightflowClient, shortName } = require('./lib/lightflow');

const USAGE = 'usage: start-run.js [--address host:port,...] [--token T] [--keep-data] '
  + 'NAME [KEY=VALUE ...]';

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      address: { type: 'string', default: process.env.LIGHTFLOW_ADDRESS || '' },
      token: { type: 'string', default: process.env.LIGHTFLOW_TOKEN || '' },
      'keep-data': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [name, ...pairs] = positionals;
  if (!name) throw new Error('no workflow name given');
  if (!values.address) throw new Error('no scheduler address: give --address or LIGHTFLOW_ADDRESS');
  const args = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`${JSON.stringify(pair)} is not KEY=VALUE`);
    args[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { ...values, name, args };
}

function describe(event) {
  const where = `${event.dag_instance}/${event.task_name}`;
  switch (event.type) {
    case 'RUN_EVENT_TYPE_TASK_OUTPUT':
      return `[${where}] ${event.text}`;
    case 'RUN_EVENT_TYPE_TASK_ENDED': {
      const status = shortName(event.task_status, 'TASK_STATUS_');
      const why = event.failure && event.failure.type
        ? `: ${event.failure.type}: ${event.failure.message}` : '';
      return `${where} ${status}${why}`;
    }
    default:
      return null;
  }
}

async function main() {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`error: ${err.message}\n${USAGE}`);
    return 2;
  }
  const client = new LightflowClient(options.address, { token: options.token });
  try {
    // One call: the run starts, then its events stream back.
    const final = await client.startAndWatch(options.name, options.args, (event) => {
      const line = describe(event);
      if (line !== null) console.log(line);
    }, {
      keepData: options['keep-data'],
      onStarted: (runId) => console.log(`started run ${runId} of ${options.name}`),
    });
    const status = shortName(final.run_status, 'RUN_STATUS_');
    console.log(`run ${final.run_id} of ${options.name}: ${status}`);
    return status === 'succeeded' ? 0 : 1;
  } catch (err) {
    console.error(`error: ${err.message}`);
    return 1;
  } finally {
    client.close();
  }
}

main().then((code) => { process.exitCode = code; });
