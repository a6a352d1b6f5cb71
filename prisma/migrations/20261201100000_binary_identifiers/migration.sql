-- Identifiers compare byte for byte (issue 10 §2). Until now every table was utf8mb4_unicode_ci, so keys matched
-- without case, accents or trailing spaces: out_order_no `case-1-abc` replayed `CASE-1-ABC`, tenant `DEMO` read
-- tenant `demo`'s orders. Every table, and every character column in it, becomes utf8mb4_bin.
--
-- Why all columns, free text included: no query compares or sorts free text (subject, reason, detail, payloads),
-- so binary costs nothing there, and one rule ("every character column is utf8mb4_bin") is what
-- test/schema-drift.test.ts can hold every future migration to. Why utf8mb4_bin: it exists under that name on
-- MariaDB 10.11 and MySQL 8.4 alike, so this script runs unchanged on both and under `prisma migrate deploy`.
-- It is a PAD SPACE collation ('a' = 'a '): identifiers accepted at the edge contain no spaces
-- (src/domain/identifiers.ts), and ids a channel sends are matched again in code after the lookup.
--
-- Safe on existing data: the character set stays utf8mb4, so no value changes a byte. Going stricter cannot
-- create a unique violation: two values equal under utf8mb4_bin are equal under utf8mb4_unicode_ci, so rows that
-- were distinct before stay distinct. Each ALTER rebuilds its table (a copy; writes wait meanwhile).
--
-- The three foreign keys on pay_no are dropped first and added back last: a referencing and a referenced
-- column must share a collation, and converting one table at a time would break that in between (MySQL refuses
-- it). Their rows copied pay_no from the order row (the service writes pay_no, never a caller), so they still
-- match byte for byte; were one not to, ADD CONSTRAINT stops this migration naming the key, with every value
-- unchanged.

-- Tables created later without naming a collation get the binary one too.
ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- DropForeignKey
ALTER TABLE `pay_attempt` DROP FOREIGN KEY `fk_pay_attempt_pay_no`;
ALTER TABLE `refund` DROP FOREIGN KEY `fk_refund_pay_no`;
ALTER TABLE `order_transition` DROP FOREIGN KEY `fk_order_transition_pay_no`;

-- AlterTable
ALTER TABLE `pay_order` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `pay_attempt` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `refund` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `order_transition` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `notify_record` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `notify_receipt` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `outbox_event` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `pay_way_config` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `channel_account` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
ALTER TABLE `event_delivery` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- AddForeignKey
ALTER TABLE `pay_attempt` ADD CONSTRAINT `fk_pay_attempt_pay_no` FOREIGN KEY (`pay_no`) REFERENCES `pay_order`(`pay_no`) ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE `refund` ADD CONSTRAINT `fk_refund_pay_no` FOREIGN KEY (`pay_no`) REFERENCES `pay_order`(`pay_no`) ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE `order_transition` ADD CONSTRAINT `fk_order_transition_pay_no` FOREIGN KEY (`pay_no`) REFERENCES `pay_order`(`pay_no`) ON DELETE RESTRICT ON UPDATE RESTRICT;
