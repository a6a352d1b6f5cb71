-- Flat as the tables grow (issue 13): indexes for ListOrders' status and pay way filters, and a statistics rollup
-- kept by triggers in the writing transaction.
--
-- The triggers are compound statements (BEGIN … END with `;` inside) and need no DELIMITER: the script is sent
-- whole, as one multi-statement query (src/infra/migrate.ts; `prisma migrate deploy` sends it the same way), and the
-- server's parser knows where a compound statement ends. On MySQL with binary logging on (8.x's default) a user
-- without SUPER needs log_bin_trust_function_creators=ON to create triggers (docker-compose.yml sets it).
--
-- Apply while no service writes (as every migration here): an order written between the backfill below and the
-- CREATE TRIGGER would be missing from the rollup.

-- ListOrders filtered by status: one index range per status, newest first (InnoDB appends id).
CREATE INDEX `idx_pay_order_tenant_status_created_at` ON `pay_order`(`tenant_id`, `status`, `created_at`);
-- ListOrders filtered by pay way (and maybe status): one range per (pay way, status); the status list is the enum.
CREATE INDEX `idx_pay_order_tenant_pay_way_status_created_at` ON `pay_order`(`tenant_id`, `pay_way`, `status`, `created_at`);
-- The paid-after-close sweep (status, then oldest change first).
CREATE INDEX `idx_pay_order_status_updated_at` ON `pay_order`(`status`, `updated_at`);

-- The order's successful refunds, kept by the refund triggers: the pay_order triggers move them with the order
-- from one statistics cell to another without reading the refund table.
ALTER TABLE `pay_order`
  ADD COLUMN `refund_success_count` INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN `refund_success_amount` BIGINT NOT NULL DEFAULT 0;

-- Orders summed per (tenant, currency, UTC bucket, status, pay way), by the order's created_at. QUARTER buckets
-- (15 minutes: every zone's midnight falls on one) serve the edges of a range, DAY buckets (UTC days) the rest.
CREATE TABLE `order_stats_cell` (
    `tenant_id` VARCHAR(64) NOT NULL,
    `currency` CHAR(3) NOT NULL,
    `grain` ENUM('QUARTER', 'DAY') NOT NULL,
    `bucket` DATETIME(3) NOT NULL,
    `status` ENUM('WAIT_PAY', 'PAYING', 'SUCCESS', 'CLOSED', 'FAILED', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE') NOT NULL,
    `pay_way` VARCHAR(32) NOT NULL,
    `order_count` BIGINT NOT NULL DEFAULT 0,
    `order_amount` BIGINT NOT NULL DEFAULT 0,
    `refund_count` BIGINT NOT NULL DEFAULT 0,
    `refunded_amount` BIGINT NOT NULL DEFAULT 0,

    PRIMARY KEY (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- Orders summed per (tenant, currency, 15-minute UTC bucket), status and pay way folded: GetStatistics' by-day view in
-- any zone reads 96 rows a day.
CREATE TABLE `order_stats_quarter` (
    `tenant_id` VARCHAR(64) NOT NULL,
    `currency` CHAR(3) NOT NULL,
    `bucket` DATETIME(3) NOT NULL,
    `order_count` BIGINT NOT NULL DEFAULT 0,
    `order_amount` BIGINT NOT NULL DEFAULT 0,
    `paid_count` BIGINT NOT NULL DEFAULT 0,
    `paid_amount` BIGINT NOT NULL DEFAULT 0,
    `refund_count` BIGINT NOT NULL DEFAULT 0,
    `refunded_amount` BIGINT NOT NULL DEFAULT 0,

    PRIMARY KEY (`tenant_id`, `currency`, `bucket`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- Backfill: the refund counters, then both rollups from the orders as they are.
UPDATE `pay_order` o
  JOIN (SELECT `pay_no`, COUNT(*) AS n, SUM(`amount`) AS total FROM `refund` WHERE `status` = 'SUCCESS' GROUP BY `pay_no`) r
    ON r.`pay_no` = o.`pay_no`
   SET o.`refund_success_count` = r.n, o.`refund_success_amount` = r.total;

INSERT INTO `order_stats_cell`
  SELECT `tenant_id`, `currency`, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(`created_at`) * 60 + MINUTE(`created_at`)) DIV 15 * 15, DATE(`created_at`)) AS q,
         `status`, `pay_way`, COUNT(*), SUM(`amount`), SUM(`refund_success_count`), SUM(`refund_success_amount`)
    FROM `pay_order` GROUP BY `tenant_id`, `currency`, q, `status`, `pay_way`;

INSERT INTO `order_stats_cell`
  SELECT `tenant_id`, `currency`, 'DAY', CAST(DATE(`created_at`) AS DATETIME) AS d,
         `status`, `pay_way`, COUNT(*), SUM(`amount`), SUM(`refund_success_count`), SUM(`refund_success_amount`)
    FROM `pay_order` GROUP BY `tenant_id`, `currency`, d, `status`, `pay_way`;

INSERT INTO `order_stats_quarter`
  SELECT `tenant_id`, `currency`, TIMESTAMPADD(MINUTE, (HOUR(`created_at`) * 60 + MINUTE(`created_at`)) DIV 15 * 15, DATE(`created_at`)) AS q,
         COUNT(*), SUM(`amount`),
         SUM(`status` IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE')),
         SUM(IF(`status` IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), `amount`, 0)),
         SUM(`refund_success_count`), SUM(`refund_success_amount`)
    FROM `pay_order` GROUP BY `tenant_id`, `currency`, q;

-- Adds n (+1 or -1) orders with these facts to their three rollup rows. Paid statuses: src/domain/order-status.ts.
CREATE PROCEDURE `order_stats_add`(
  IN p_tenant VARCHAR(64), IN p_currency CHAR(3), IN p_created DATETIME(3), IN p_status VARCHAR(32), IN p_pay_way VARCHAR(32),
  IN n INT, IN p_amount BIGINT, IN p_refunds BIGINT, IN p_refunded BIGINT)
BEGIN
  DECLARE q DATETIME DEFAULT TIMESTAMPADD(MINUTE, (HOUR(p_created) * 60 + MINUTE(p_created)) DIV 15 * 15, DATE(p_created));
  DECLARE paid INT DEFAULT IF(p_status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), n, 0);
  INSERT INTO `order_stats_cell`
      (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
    VALUES (p_tenant, p_currency, 'QUARTER', q, p_status, p_pay_way, n, n * p_amount, n * p_refunds, n * p_refunded),
           (p_tenant, p_currency, 'DAY', DATE(p_created), p_status, p_pay_way, n, n * p_amount, n * p_refunds, n * p_refunded)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + n, `order_amount` = `order_amount` + n * p_amount,
      `refund_count` = `refund_count` + n * p_refunds, `refunded_amount` = `refunded_amount` + n * p_refunded;
  INSERT INTO `order_stats_quarter`
      (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
    VALUES (p_tenant, p_currency, q, n, n * p_amount, paid, paid * p_amount, n * p_refunds, n * p_refunded)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + n, `order_amount` = `order_amount` + n * p_amount,
      `paid_count` = `paid_count` + paid, `paid_amount` = `paid_amount` + paid * p_amount,
      `refund_count` = `refund_count` + n * p_refunds, `refunded_amount` = `refunded_amount` + n * p_refunded;
END;

CREATE TRIGGER `pay_order_stats_insert` AFTER INSERT ON `pay_order` FOR EACH ROW
  CALL order_stats_add(NEW.tenant_id, NEW.currency, NEW.created_at, NEW.status, NEW.pay_way,
                       1, NEW.amount, NEW.refund_success_count, NEW.refund_success_amount);

-- Most updates (a version bump, an expiry) change none of the facts and cost one comparison.
CREATE TRIGGER `pay_order_stats_update` AFTER UPDATE ON `pay_order` FOR EACH ROW
BEGIN
  IF NOT (OLD.tenant_id <=> NEW.tenant_id AND OLD.currency <=> NEW.currency AND OLD.created_at <=> NEW.created_at
          AND OLD.status <=> NEW.status AND OLD.pay_way <=> NEW.pay_way AND OLD.amount <=> NEW.amount
          AND OLD.refund_success_count <=> NEW.refund_success_count AND OLD.refund_success_amount <=> NEW.refund_success_amount) THEN
    CALL order_stats_add(OLD.tenant_id, OLD.currency, OLD.created_at, OLD.status, OLD.pay_way,
                         -1, OLD.amount, OLD.refund_success_count, OLD.refund_success_amount);
    CALL order_stats_add(NEW.tenant_id, NEW.currency, NEW.created_at, NEW.status, NEW.pay_way,
                         1, NEW.amount, NEW.refund_success_count, NEW.refund_success_amount);
  END IF;
END;

CREATE TRIGGER `pay_order_stats_delete` AFTER DELETE ON `pay_order` FOR EACH ROW
  CALL order_stats_add(OLD.tenant_id, OLD.currency, OLD.created_at, OLD.status, OLD.pay_way,
                       -1, OLD.amount, OLD.refund_success_count, OLD.refund_success_amount);

-- A refund counts once it is SUCCESS; its order's counters move, and with them (pay_order's update trigger) the
-- order's statistics cell. The order row is locked by that UPDATE, so concurrent refunds of one order add up.
CREATE TRIGGER `refund_stats_insert` AFTER INSERT ON `refund` FOR EACH ROW
BEGIN
  IF NEW.status = 'SUCCESS' THEN
    UPDATE `pay_order` SET `refund_success_count` = `refund_success_count` + 1, `refund_success_amount` = `refund_success_amount` + NEW.amount
     WHERE `pay_no` = NEW.pay_no;
  END IF;
END;

CREATE TRIGGER `refund_stats_update` AFTER UPDATE ON `refund` FOR EACH ROW
BEGIN
  IF NOT (OLD.status <=> NEW.status AND OLD.amount <=> NEW.amount AND OLD.pay_no <=> NEW.pay_no) THEN
    IF OLD.status = 'SUCCESS' THEN
      UPDATE `pay_order` SET `refund_success_count` = `refund_success_count` - 1, `refund_success_amount` = `refund_success_amount` - OLD.amount
       WHERE `pay_no` = OLD.pay_no;
    END IF;
    IF NEW.status = 'SUCCESS' THEN
      UPDATE `pay_order` SET `refund_success_count` = `refund_success_count` + 1, `refund_success_amount` = `refund_success_amount` + NEW.amount
       WHERE `pay_no` = NEW.pay_no;
    END IF;
  END IF;
END;

CREATE TRIGGER `refund_stats_delete` AFTER DELETE ON `refund` FOR EACH ROW
BEGIN
  IF OLD.status = 'SUCCESS' THEN
    UPDATE `pay_order` SET `refund_success_count` = `refund_success_count` - 1, `refund_success_amount` = `refund_success_amount` - OLD.amount
     WHERE `pay_no` = OLD.pay_no;
  END IF;
END;
