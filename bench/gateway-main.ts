/** The mock channel's sandbox gateway in its own process (BENCH_GATEWAY=process). Prints its URL. */
import { createMockGateway } from '../sandboxes/mock';
import { BENCH_MOCK_SECRET } from './config';
import { announceReady, failStartup } from './ready';

async function main(): Promise<void> {
  const gateway = createMockGateway({ secret: BENCH_MOCK_SECRET });
  const url = await gateway.listen(0, '127.0.0.1');
  announceReady({ gatewayUrl: url }, () => gateway.close());
}

main().catch(failStartup);
