/**
 * Money is bigint minor units end to end (fen for CNY): proto int64 → bigint → MySQL BIGINT, never a float.
 * Alipay and WeChat Pay's domestic products settle CNY only.
 */
export const SUPPORTED_CURRENCIES = ['CNY'] as const;

/** Alipay's ceiling for one trade: 100,000,000.00 yuan. */
export const MAX_AMOUNT = 10_000_000_000n;
