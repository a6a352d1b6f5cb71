-- Who caused each audit row (issue 10). An actor is a caller's name (PAYSVC_CALLERS) or one of the system's own
-- actors, which contain a colon that caller names cannot: system:timeout, system:sync, channel:notify,
-- system:paid-after-close. Rows written before callers existed came from unauthenticated RPCs: 'anonymous'.

-- AlterTable
ALTER TABLE `order_transition` ADD COLUMN `actor` VARCHAR(128) NOT NULL DEFAULT '';
UPDATE `order_transition`
   SET `actor` = CASE `cause` WHEN 'NOTIFY' THEN 'channel:notify' WHEN 'TIMEOUT' THEN 'system:timeout' WHEN 'SYNC' THEN 'system:sync' ELSE 'anonymous' END;
ALTER TABLE `order_transition` ALTER COLUMN `actor` DROP DEFAULT;

-- AlterTable
ALTER TABLE `refund` ADD COLUMN `requested_by` VARCHAR(128) NOT NULL DEFAULT '';
UPDATE `refund` SET `requested_by` = CASE WHEN `out_refund_no` LIKE 'AUTO-%' THEN 'system:paid-after-close' ELSE 'anonymous' END;
ALTER TABLE `refund` ALTER COLUMN `requested_by` DROP DEFAULT;

-- AlterTable: set on the row a ReplayEvent writes (target 'replay'); deliveries by the workers have none.
ALTER TABLE `event_delivery` ADD COLUMN `actor` VARCHAR(128) NULL;
