/**
 * Baseline (a): a bare grpc-js unary echo with the service's server options, nothing else. Prints its port.
 */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { announceReady, failStartup } from './ready';

/** Copied from src/grpc/server.ts (it does not export them); checked below so the two cannot drift silently. */
const SERVER_OPTIONS_SOURCE = "{ 'grpc.max_receive_message_length': 1024 * 1024 }";
const SERVER_OPTIONS = { 'grpc.max_receive_message_length': 1024 * 1024 };

function warnIfServiceOptionsDiffer(): void {
  const source = readFileSync(path.resolve(__dirname, '../src/grpc/server.ts'), 'utf8');
  if (!source.includes(`new Server(${SERVER_OPTIONS_SOURCE})`)) {
    console.error('[bench] warning: src/grpc/server.ts no longer uses the server options the echo baseline copies');
  }
}

const identity = (b: Buffer): Buffer => b;
const ECHO_SERVICE = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

async function main(): Promise<void> {
  warnIfServiceOptionsDiffer();
  const server = new Server(SERVER_OPTIONS);
  server.addService(ECHO_SERVICE, {
    Echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  announceReady({ grpcPort: port }, () => new Promise((resolve) => server.tryShutdown(() => resolve())));
}

main().catch(failStartup);
