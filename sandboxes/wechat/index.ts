export { createWechatSandbox, type WechatSandbox, type WechatSandboxOptions } from './gateway';
export { generateWechatSandboxKeys, type WechatSandboxKeys } from './keys';
export type { MerchantRegistration } from './protocol';
export type { WechatSandboxFault } from './faults';
export { WECHAT_NOTIFY_SCHEDULE_MS } from './notifier';
