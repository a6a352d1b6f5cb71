-- Fees and net amounts (issue 14 §3), integer fen. A payment's fee and net (amount - fee) are written on its attempt
-- and its order by the statements that record the payment; a refund's share of the fee on the refund, and the sum
-- of those shares on the order, by the statements that record the refund's success (src/domain/fees.ts). 0 until
-- then; rows paid before this migration keep 0 (their fee was never computed).

-- AlterTable
ALTER TABLE `pay_order`
    ADD COLUMN `fee` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `net_amount` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `refunded_fee` BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE `pay_attempt`
    ADD COLUMN `fee` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `net_amount` BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE `refund` ADD COLUMN `fee` BIGINT NOT NULL DEFAULT 0;
