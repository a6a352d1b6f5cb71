-- Issue 14 §5, payer and records: the payer as the channel names them, the amount and time it reported, and the
-- newest few exchanges with the channel per attempt and per refund (what was sent, what it answered; no secrets).
-- All nullable, no backfill: attempts paid before this migration show no payer, and their records start empty.

ALTER TABLE `pay_attempt`
    ADD COLUMN `payer_channel_id` VARCHAR(128) NULL,
    ADD COLUMN `payer_account` VARCHAR(128) NULL,
    ADD COLUMN `paid_amount` BIGINT NULL,
    ADD COLUMN `paid_at` DATETIME(3) NULL,
    ADD COLUMN `channel_records` JSON NULL;

ALTER TABLE `refund`
    ADD COLUMN `channel_records` JSON NULL;
