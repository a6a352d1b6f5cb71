-- A notify receipt belongs to the trade it deduplicates: keyed by (channel, tenant, attempt, notify id), so a
-- genuine notify of one tenant's trade is never taken for a repeat of another trade's notify with the same id.
ALTER TABLE `notify_receipt`
    ADD COLUMN `tenant_id` VARCHAR(64) NOT NULL DEFAULT '' AFTER `channel`,
    ADD COLUMN `attempt_no` VARCHAR(32) NOT NULL DEFAULT '' AFTER `tenant_id`;

-- Existing receipts: the tenant is the order's; the attempt is the order's paid attempt on that channel (the one
-- payment and refund notifies are about), else its latest attempt there. A receipt matched to the wrong attempt
-- can at worst let a retry of that old notify through again, which the compare-and-set turns into IGNORED.
UPDATE `notify_receipt` r
    JOIN `pay_order` o ON o.`pay_no` = r.`pay_no`
    SET r.`tenant_id` = o.`tenant_id`,
        r.`attempt_no` = COALESCE(
            (SELECT a.`attempt_no` FROM `pay_attempt` a
              WHERE a.`pay_no` = r.`pay_no` AND a.`channel` = r.`channel`
              ORDER BY a.`status` = 'SUCCESS' DESC, a.`id` DESC LIMIT 1),
            '');

ALTER TABLE `notify_receipt`
    ALTER COLUMN `tenant_id` DROP DEFAULT,
    ALTER COLUMN `attempt_no` DROP DEFAULT,
    DROP PRIMARY KEY,
    ADD PRIMARY KEY (`channel`, `tenant_id`, `attempt_no`, `notify_id`);

-- Rejected notifies keep only the head of their body, with its full length and digest.
ALTER TABLE `notify_record`
    ADD COLUMN `payload_bytes` INTEGER NOT NULL DEFAULT 0 AFTER `raw_payload`,
    ADD COLUMN `payload_sha256` CHAR(64) NOT NULL DEFAULT '' AFTER `payload_bytes`;

UPDATE `notify_record`
    SET `payload_bytes` = OCTET_LENGTH(`raw_payload`), `payload_sha256` = SHA2(`raw_payload`, 256);

UPDATE `notify_record` SET `raw_payload` = LEFT(`raw_payload`, 1024) WHERE `result` = 'REJECTED' AND OCTET_LENGTH(`raw_payload`) > 4096;
