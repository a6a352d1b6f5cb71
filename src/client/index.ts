export { PaymentClient } from './payment-client';
export { PaymentError } from './payment-error';
export type { ErrorDetails } from './error-details';
export { DEFAULT_RETRY, type RetryPolicy } from './retry';
export { orderRef, toOrderRef, type CallOpts, type Input, type OrderRefInput, type PaymentClientOptions } from './types';
export { OrderStatus, PayWay, RefundStatus, type PayOrder, type Refund } from '../gen/payment/v1/types';
