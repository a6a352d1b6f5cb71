import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Deps } from '../app/deps';
import { PaymentServiceService } from '../gen/payment/v1/payment_service';
import { InFlight } from './in-flight';
import { paymentService } from './payment-service';
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

/** The PaymentService with server reflection and grpc.health.v1, so grpcurl can list, describe and call it. */
export async function startGrpcServer(deps: Deps, host: string, port: number): Promise<GrpcServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  const inFlight = new InFlight();
  server.addService(PaymentServiceService, paymentService(deps, inFlight));

  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  addReflection(server, [SERVICE_NAME, HEALTH_SERVICE_NAME], deps.log);

  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
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
