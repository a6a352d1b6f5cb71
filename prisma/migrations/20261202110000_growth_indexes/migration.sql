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

-- Each order's SUCCESS refunds (count and sum), kept by the refund triggers: the pay_order triggers move them with
-- the order from one statistics cell to another without summing the refund table.
CREATE TABLE `order_refund_tally` (
    `pay_no` VARCHAR(32) NOT NULL,
    `refund_count` BIGINT NOT NULL DEFAULT 0,
    `refunded_amount` BIGINT NOT NULL DEFAULT 0,

    PRIMARY KEY (`pay_no`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

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

-- Backfill: the refund tallies, then both rollups from the orders as they are.
INSERT INTO `order_refund_tally`
  SELECT `pay_no`, COUNT(*), SUM(`amount`) FROM `refund` WHERE `status` = 'SUCCESS' GROUP BY `pay_no`;

INSERT INTO `order_stats_cell`
  SELECT o.`tenant_id`, o.`currency`, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(o.`created_at`) * 60 + MINUTE(o.`created_at`)) DIV 15 * 15, DATE(o.`created_at`)) AS q,
         o.`status`, o.`pay_way`, COUNT(*), SUM(o.`amount`), COALESCE(SUM(t.`refund_count`), 0), COALESCE(SUM(t.`refunded_amount`), 0)
    FROM `pay_order` o LEFT JOIN `order_refund_tally` t ON t.`pay_no` = o.`pay_no`
   GROUP BY o.`tenant_id`, o.`currency`, q, o.`status`, o.`pay_way`;

INSERT INTO `order_stats_cell`
  SELECT o.`tenant_id`, o.`currency`, 'DAY', CAST(DATE(o.`created_at`) AS DATETIME) AS d,
         o.`status`, o.`pay_way`, COUNT(*), SUM(o.`amount`), COALESCE(SUM(t.`refund_count`), 0), COALESCE(SUM(t.`refunded_amount`), 0)
    FROM `pay_order` o LEFT JOIN `order_refund_tally` t ON t.`pay_no` = o.`pay_no`
   GROUP BY o.`tenant_id`, o.`currency`, d, o.`status`, o.`pay_way`;

INSERT INTO `order_stats_quarter`
  SELECT o.`tenant_id`, o.`currency`, TIMESTAMPADD(MINUTE, (HOUR(o.`created_at`) * 60 + MINUTE(o.`created_at`)) DIV 15 * 15, DATE(o.`created_at`)) AS q,
         COUNT(*), SUM(o.`amount`),
         SUM(o.`status` IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE')),
         SUM(IF(o.`status` IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), o.`amount`, 0)),
         COALESCE(SUM(t.`refund_count`), 0), COALESCE(SUM(t.`refunded_amount`), 0)
    FROM `pay_order` o LEFT JOIN `order_refund_tally` t ON t.`pay_no` = o.`pay_no`
   GROUP BY o.`tenant_id`, o.`currency`, q;

-- Adds signed deltas (orders, their amount, their SUCCESS refunds and refunded amount) to the three rollup rows of
-- orders with these facts (the refund and delete paths; pay_order's insert and update triggers inline it). Paid
-- statuses: src/domain/order-status.ts.
CREATE PROCEDURE `order_stats_add`(
  IN p_tenant VARCHAR(64), IN p_currency CHAR(3), IN p_created DATETIME(3), IN p_status VARCHAR(32), IN p_pay_way VARCHAR(32),
  IN d_orders BIGINT, IN d_amount BIGINT, IN d_refunds BIGINT, IN d_refunded BIGINT)
BEGIN
  DECLARE q DATETIME DEFAULT TIMESTAMPADD(MINUTE, (HOUR(p_created) * 60 + MINUTE(p_created)) DIV 15 * 15, DATE(p_created));
  DECLARE paid BOOLEAN DEFAULT p_status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE');
  INSERT INTO `order_stats_cell`
      (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
    VALUES (p_tenant, p_currency, 'QUARTER', q, p_status, p_pay_way, d_orders, d_amount, d_refunds, d_refunded),
           (p_tenant, p_currency, 'DAY', DATE(p_created), p_status, p_pay_way, d_orders, d_amount, d_refunds, d_refunded)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + d_orders, `order_amount` = `order_amount` + d_amount,
      `refund_count` = `refund_count` + d_refunds, `refunded_amount` = `refunded_amount` + d_refunded;
  INSERT INTO `order_stats_quarter`
      (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
    VALUES (p_tenant, p_currency, q, d_orders, d_amount, IF(paid, d_orders, 0), IF(paid, d_amount, 0), d_refunds, d_refunded)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + d_orders, `order_amount` = `order_amount` + d_amount,
      `paid_count` = `paid_count` + IF(paid, d_orders, 0), `paid_amount` = `paid_amount` + IF(paid, d_amount, 0),
      `refund_count` = `refund_count` + d_refunds, `refunded_amount` = `refunded_amount` + d_refunded;
END;

-- Moves an order's SUCCESS refunds by (d_refunds, d_refunded): its tally, and its current statistics cell. The order
-- row is locked first (as pay_order's update trigger has it locked), then the tally: one lock order, and the cell
-- read is the order's latest.
CREATE PROCEDURE `order_stats_refund`(IN p_pay_no VARCHAR(32), IN d_refunds BIGINT, IN d_refunded BIGINT)
BEGIN
  DECLARE v_tenant VARCHAR(64);
  DECLARE v_currency CHAR(3);
  DECLARE v_created DATETIME(3);
  DECLARE v_status VARCHAR(32);
  DECLARE v_pay_way VARCHAR(32);
  SELECT `tenant_id`, `currency`, `created_at`, `status`, `pay_way` INTO v_tenant, v_currency, v_created, v_status, v_pay_way
    FROM `pay_order` WHERE `pay_no` = p_pay_no FOR UPDATE;
  INSERT INTO `order_refund_tally` (`pay_no`, `refund_count`, `refunded_amount`) VALUES (p_pay_no, d_refunds, d_refunded)
    ON DUPLICATE KEY UPDATE `refund_count` = `refund_count` + d_refunds, `refunded_amount` = `refunded_amount` + d_refunded;
  CALL order_stats_add(v_tenant, v_currency, v_created, v_status, v_pay_way, 0, 0, d_refunds, d_refunded);
END;

-- The pay_order triggers write the rollup rows themselves (the same statements as order_stats_add, inlined): a
-- CALL from a trigger costs about as much again as the statements it runs.
CREATE TRIGGER `pay_order_stats_insert` AFTER INSERT ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT DEFAULT 0;
  DECLARE refunded BIGINT DEFAULT 0;
  INSERT INTO `order_stats_cell`
      (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
    VALUES (NEW.tenant_id, NEW.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded),
           (NEW.tenant_id, NEW.currency, 'DAY', DATE(NEW.created_at), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
      `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded;
  INSERT INTO `order_stats_quarter`
      (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
    VALUES (NEW.tenant_id, NEW.currency, TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), 1, NEW.amount, IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0), refunds, refunded)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
      `paid_count` = `paid_count` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), `paid_amount` = `paid_amount` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0),
      `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded;
END;

-- Most updates (a version bump, a refund reservation) change none of the facts and cost one comparison. The tally is
-- read with a lock (latest committed, as the refund triggers write it under the order's lock).
CREATE TRIGGER `pay_order_stats_update` AFTER UPDATE ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT;
  DECLARE refunded BIGINT;
  IF NOT (OLD.tenant_id <=> NEW.tenant_id AND OLD.currency <=> NEW.currency AND OLD.created_at <=> NEW.created_at
          AND OLD.status <=> NEW.status AND OLD.pay_way <=> NEW.pay_way AND OLD.amount <=> NEW.amount) THEN
    SELECT COALESCE(SUM(`refund_count`), 0), COALESCE(SUM(`refunded_amount`), 0) INTO refunds, refunded
      FROM `order_refund_tally` WHERE `pay_no` = OLD.pay_no FOR UPDATE;
    -- Both rows in one order whichever way the order moves (by status, then pay way), so two transactions moving
    -- orders in opposite directions (a pay way switch each way) lock them in the same order and cannot deadlock.
    IF (OLD.status + 0, OLD.pay_way) <= (NEW.status + 0, NEW.pay_way) THEN
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
        VALUES (OLD.tenant_id, OLD.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded),
               (OLD.tenant_id, OLD.currency, 'DAY', DATE(OLD.created_at), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
        VALUES (OLD.tenant_id, OLD.currency, TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), -1, -OLD.amount, IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0), -refunds, -refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `paid_count` = `paid_count` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), `paid_amount` = `paid_amount` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0),
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded;
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
        VALUES (NEW.tenant_id, NEW.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded),
               (NEW.tenant_id, NEW.currency, 'DAY', DATE(NEW.created_at), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
        VALUES (NEW.tenant_id, NEW.currency, TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), 1, NEW.amount, IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0), refunds, refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `paid_count` = `paid_count` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), `paid_amount` = `paid_amount` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0),
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded;
    ELSE
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
        VALUES (NEW.tenant_id, NEW.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded),
               (NEW.tenant_id, NEW.currency, 'DAY', DATE(NEW.created_at), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
        VALUES (NEW.tenant_id, NEW.currency, TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), 1, NEW.amount, IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0), refunds, refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `paid_count` = `paid_count` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), `paid_amount` = `paid_amount` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0),
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded;
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`)
        VALUES (OLD.tenant_id, OLD.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded),
               (OLD.tenant_id, OLD.currency, 'DAY', DATE(OLD.created_at), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`)
        VALUES (OLD.tenant_id, OLD.currency, TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), -1, -OLD.amount, IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0), -refunds, -refunded)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `paid_count` = `paid_count` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), `paid_amount` = `paid_amount` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0),
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded;
    END IF;
  END IF;
END;

CREATE TRIGGER `pay_order_stats_delete` AFTER DELETE ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT;
  DECLARE refunded BIGINT;
  SELECT COALESCE(SUM(`refund_count`), 0), COALESCE(SUM(`refunded_amount`), 0) INTO refunds, refunded
    FROM `order_refund_tally` WHERE `pay_no` = OLD.pay_no FOR UPDATE;
  CALL order_stats_add(OLD.tenant_id, OLD.currency, OLD.created_at, OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded);
END;

-- A refund counts once it is SUCCESS.
CREATE TRIGGER `refund_stats_insert` AFTER INSERT ON `refund` FOR EACH ROW
BEGIN
  IF NEW.status = 'SUCCESS' THEN
    CALL order_stats_refund(NEW.pay_no, 1, NEW.amount);
  END IF;
END;

CREATE TRIGGER `refund_stats_update` AFTER UPDATE ON `refund` FOR EACH ROW
BEGIN
  IF NOT (OLD.status <=> NEW.status AND OLD.amount <=> NEW.amount AND OLD.pay_no <=> NEW.pay_no) THEN
    IF OLD.status = 'SUCCESS' THEN
      CALL order_stats_refund(OLD.pay_no, -1, -OLD.amount);
    END IF;
    IF NEW.status = 'SUCCESS' THEN
      CALL order_stats_refund(NEW.pay_no, 1, NEW.amount);
    END IF;
  END IF;
END;

CREATE TRIGGER `refund_stats_delete` AFTER DELETE ON `refund` FOR EACH ROW
BEGIN
  IF OLD.status = 'SUCCESS' THEN
    CALL order_stats_refund(OLD.pay_no, -1, -OLD.amount);
  END IF;
END;
