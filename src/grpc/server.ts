import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Deps } from '../app/deps';
import type { GrpcTls } from '../config';
import * as servicePb from '../gen/payment/v1/payment_service';
import * as reconciliationPb from '../gen/payment/v1/reconciliation';
import type { CallerAuth } from './auth';
import { InFlight } from './in-flight';
import { paymentService } from './payment-service';
import { withReusedWriter } from './reused-writer';
import { addReflection } from './reflection';

const SERVICE_NAME = 'payment.v1.PaymentService';
const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export interface GrpcServer {
  port: number;
  /**
   * Stops taking calls, lets in-flight ones finish for up to graceMs, then cuts the connections; resolves once
   * the use cases behind cut calls have finished too (at most drainMs more), so the database can be closed.
   */
  shutdown(graceMs: number, drainMs?: number): Promise<void>;
}

export interface GrpcServerOptions {
  host: string;
  port: number;
  /** TLS (mTLS with a client CA); plaintext without. */
  tls?: GrpcTls;
  /** Who may call; grpc.health.v1 and reflection stay open. */
  auth: CallerAuth;
  reflection: boolean;
  /** Plaintext in production is said loudly at start. */
  production?: boolean;
}

/** The PaymentService with grpc.health.v1 and (unless switched off) server reflection, for grpcurl. */
export async function startGrpcServer(deps: Deps, opts: GrpcServerOptions): Promise<GrpcServer> {
  const { host, port } = opts;
  const server = new Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  const inFlight = new InFlight();
  // Answers are encoded through one reused writer (reused-writer.ts); every method's response message is in one of
  // these two generated modules.
  const definition = withReusedWriter(servicePb.PaymentServiceService, { ...servicePb, ...reconciliationPb });
  server.addService(definition, paymentService(deps, opts.auth, inFlight));

  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  if (opts.reflection) addReflection(server, [SERVICE_NAME, HEALTH_SERVICE_NAME], deps.log);

  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentialsFor(opts.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  announceSecurity(deps, opts);
  health.setStatus('', 'SERVING');
  health.setStatus(SERVICE_NAME, 'SERVING');
  deps.log.info({ port: bound }, 'gRPC server listening');

  return {
    port: bound,
    async shutdown(graceMs, drainMs = 30_000) {
      await new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(SERVICE_NAME, 'NOT_SERVING');
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      const cut = inFlight.size;
      if (cut > 0 && !(await inFlight.settle(drainMs))) {
        deps.log.warn({ calls: inFlight.size }, 'use cases still running after the drain; closing anyway');
      } else if (cut > 0) {
        deps.log.info({ calls: cut }, 'use cases of cut calls finished');
      }
    },
  };
}

/** TLS from the configured files; with a client CA, clients must present a certificate it issued (mTLS). */
function credentialsFor(tls: GrpcTls | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], !!tls.clientCa);
}

/** Says loudly at start what protects the port, and what does not. */
function announceSecurity(deps: Deps, opts: GrpcServerOptions): void {
  const transport = opts.tls ? (opts.tls.clientCa ? 'mTLS' : 'TLS') : 'plaintext';
  deps.log.info({ transport, callers: opts.auth.size, reflection: opts.reflection }, 'gRPC security');
  if (!opts.tls && opts.production) {
    deps.log.warn('gRPC is PLAINTEXT in production (GRPC_PLAINTEXT_IN_PRODUCTION): only safe behind a proxy that terminates TLS');
  }
  if (opts.auth.disabled) {
    deps.log.error('caller authentication is DISABLED (PAYSVC_AUTH_DISABLED): every call acts as "anonymous" for every tenant');
  } else if (opts.auth.size === 0) {
    deps.log.warn('no callers configured (PAYSVC_CALLERS_FILE / PAYSVC_CALLERS): every PaymentService call is refused');
  }
}
