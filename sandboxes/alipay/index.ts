export { createAlipaySandbox, type AlipaySandbox, type AlipaySandboxOptions, type SandboxTradeView } from './gateway';
export { generateAlipaySandboxKeys, type AlipayKeyPair } from './keys';
export type { AlipaySandboxFault } from './faults';
export { ALIPAY_NOTIFY_INTERVALS_MS, type NotifyDelivery } from './notifier';
export type { SandboxApp } from './protocol';
