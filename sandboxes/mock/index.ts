export { createMockGateway, type MockGateway, type MockGatewayOptions } from './gateway';
export type { GatewayFault } from './faults';
export { DEFAULT_NOTIFY_RETRY_DELAYS_MS } from './notifier';
