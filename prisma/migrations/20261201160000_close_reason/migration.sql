-- Why an order was closed (issue 11 §3), and an index for ListRefunds.
-- close_reason is set by the change to CLOSED or FAILED and kept if a payment arrives after all. Orders closed
-- before this column existed get their reason from the audit trail: the cause of their last change to CLOSED (a
-- Cancel is cause RPC; a timeout, cause TIMEOUT) or FAILED.

-- AlterTable
ALTER TABLE `pay_order` ADD COLUMN `close_reason` ENUM('CANCELLED', 'EXPIRED', 'PAYMENT_FAILED') CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;

UPDATE `pay_order` o
   SET o.`close_reason` = (
     SELECT CASE WHEN t.`to_status` = 'FAILED' THEN 'PAYMENT_FAILED' WHEN t.`cause` = 'TIMEOUT' THEN 'EXPIRED' ELSE 'CANCELLED' END
       FROM `order_transition` t
      WHERE t.`pay_no` = o.`pay_no` AND t.`to_status` IN ('CLOSED', 'FAILED')
      ORDER BY t.`id` DESC
      LIMIT 1
   )
 WHERE o.`status` IN ('CLOSED', 'FAILED', 'PAID_AFTER_CLOSE', 'SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED');

-- ListRefunds for a tenant pages by id (keyset): this index serves `WHERE tenant_id = ? AND id > ? ORDER BY id`.
-- CreateIndex
CREATE INDEX `idx_refund_tenant_id` ON `refund`(`tenant_id`, `id`);
