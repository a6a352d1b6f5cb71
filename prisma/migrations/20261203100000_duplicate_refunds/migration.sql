-- Duplicate payments get their money back (issue 14 §1).
--
-- A refund of a duplicate payment (a second attempt of an already paid order, paid too) is bounded by what that
-- attempt paid and never counts toward the order's own refunded amounts or status: `duplicate` says which kind a
-- refund is, written once with the refund and never changed.
ALTER TABLE `refund` ADD COLUMN `duplicate` BOOLEAN NOT NULL DEFAULT FALSE;
-- The sweep's look for automatic refunds (requested_by system:paid-after-close / system:duplicate-payment) that
-- failed and are due for their next try: one range per (actor, status), however many refunds callers make.
CREATE INDEX `idx_refund_requested_by_status` ON `refund`(`requested_by`, `status`);
