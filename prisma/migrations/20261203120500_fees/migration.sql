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

-- GetStatistics sums fees (issue 14 §3): the rollup rows also sum their orders' fee, net amount and refunded fee.
-- These are columns of the order row itself, so the pay_order triggers move them with the order as they move its
-- amount; a refund's success changes refunded_fee in the same UPDATE that records it. The triggers and the
-- procedure that writes rollup rows are recreated with the three new facts; everything else is as in
-- 20261202110000_growth_indexes. Orders paid before this migration have fee 0, so nothing is backfilled.
--
-- Apply while no service writes (as every migration here).

-- AlterTable
ALTER TABLE `order_stats_cell`
    ADD COLUMN `fee_amount` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `net_amount` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `refunded_fee` BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE `order_stats_quarter`
    ADD COLUMN `fee_amount` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `net_amount` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `refunded_fee` BIGINT NOT NULL DEFAULT 0;

DROP TRIGGER `pay_order_stats_insert`;
DROP TRIGGER `pay_order_stats_update`;
DROP TRIGGER `pay_order_stats_delete`;
DROP PROCEDURE `order_stats_refund`;
DROP PROCEDURE `order_stats_add`;

-- As before, plus the fee facts (d_fee, d_net, d_refunded_fee).
CREATE PROCEDURE `order_stats_add`(
  IN p_tenant VARCHAR(64), IN p_currency CHAR(3), IN p_created DATETIME(3), IN p_status VARCHAR(32), IN p_pay_way VARCHAR(32),
  IN d_orders BIGINT, IN d_amount BIGINT, IN d_refunds BIGINT, IN d_refunded BIGINT,
  IN d_fee BIGINT, IN d_net BIGINT, IN d_refunded_fee BIGINT)
BEGIN
  DECLARE q DATETIME DEFAULT TIMESTAMPADD(MINUTE, (HOUR(p_created) * 60 + MINUTE(p_created)) DIV 15 * 15, DATE(p_created));
  DECLARE paid BOOLEAN DEFAULT p_status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE');
  INSERT INTO `order_stats_cell`
      (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
    VALUES (p_tenant, p_currency, 'QUARTER', q, p_status, p_pay_way, d_orders, d_amount, d_refunds, d_refunded, d_fee, d_net, d_refunded_fee),
           (p_tenant, p_currency, 'DAY', DATE(p_created), p_status, p_pay_way, d_orders, d_amount, d_refunds, d_refunded, d_fee, d_net, d_refunded_fee)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + d_orders, `order_amount` = `order_amount` + d_amount,
      `refund_count` = `refund_count` + d_refunds, `refunded_amount` = `refunded_amount` + d_refunded,
      `fee_amount` = `fee_amount` + d_fee, `net_amount` = `net_amount` + d_net, `refunded_fee` = `refunded_fee` + d_refunded_fee;
  INSERT INTO `order_stats_quarter`
      (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
    VALUES (p_tenant, p_currency, q, d_orders, d_amount, IF(paid, d_orders, 0), IF(paid, d_amount, 0), d_refunds, d_refunded, d_fee, d_net, d_refunded_fee)
    ON DUPLICATE KEY UPDATE `order_count` = `order_count` + d_orders, `order_amount` = `order_amount` + d_amount,
      `paid_count` = `paid_count` + IF(paid, d_orders, 0), `paid_amount` = `paid_amount` + IF(paid, d_amount, 0),
      `refund_count` = `refund_count` + d_refunds, `refunded_amount` = `refunded_amount` + d_refunded,
      `fee_amount` = `fee_amount` + d_fee, `net_amount` = `net_amount` + d_net, `refunded_fee` = `refunded_fee` + d_refunded_fee;
END;

-- As before (a refund moves no fee fact here: the order's refunded_fee moves with the order's own UPDATE).
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
  CALL order_stats_add(v_tenant, v_currency, v_created, v_status, v_pay_way, 0, 0, d_refunds, d_refunded, 0, 0, 0);
END;

CREATE TRIGGER `pay_order_stats_insert` AFTER INSERT ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT DEFAULT 0;
  DECLARE refunded BIGINT DEFAULT 0;
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (NEW.tenant_id, NEW.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee),
               (NEW.tenant_id, NEW.currency, 'DAY', DATE(NEW.created_at), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded,
          `fee_amount` = `fee_amount` + NEW.fee, `net_amount` = `net_amount` + NEW.net_amount, `refunded_fee` = `refunded_fee` + NEW.refunded_fee;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (NEW.tenant_id, NEW.currency, TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), 1, NEW.amount, IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0), refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `paid_count` = `paid_count` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), `paid_amount` = `paid_amount` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0),
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded,
          `fee_amount` = `fee_amount` + NEW.fee, `net_amount` = `net_amount` + NEW.net_amount, `refunded_fee` = `refunded_fee` + NEW.refunded_fee;
END;

-- As before; an update that changes a fee fact (the payment, a refund's success) moves the order too.
CREATE TRIGGER `pay_order_stats_update` AFTER UPDATE ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT;
  DECLARE refunded BIGINT;
  IF NOT (OLD.tenant_id <=> NEW.tenant_id AND OLD.currency <=> NEW.currency AND OLD.created_at <=> NEW.created_at
          AND OLD.status <=> NEW.status AND OLD.pay_way <=> NEW.pay_way AND OLD.amount <=> NEW.amount
          AND OLD.fee <=> NEW.fee AND OLD.net_amount <=> NEW.net_amount AND OLD.refunded_fee <=> NEW.refunded_fee) THEN
    SELECT COALESCE(SUM(`refund_count`), 0), COALESCE(SUM(`refunded_amount`), 0) INTO refunds, refunded
      FROM `order_refund_tally` WHERE `pay_no` = OLD.pay_no FOR UPDATE;
    -- Both rows in one order whichever way the order moves (by status, then pay way): no deadlock between two
    -- transactions moving orders in opposite directions.
    IF (OLD.status + 0, OLD.pay_way) <= (NEW.status + 0, NEW.pay_way) THEN
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (OLD.tenant_id, OLD.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee),
               (OLD.tenant_id, OLD.currency, 'DAY', DATE(OLD.created_at), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded,
          `fee_amount` = `fee_amount` + -OLD.fee, `net_amount` = `net_amount` + -OLD.net_amount, `refunded_fee` = `refunded_fee` + -OLD.refunded_fee;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (OLD.tenant_id, OLD.currency, TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), -1, -OLD.amount, IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0), -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `paid_count` = `paid_count` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), `paid_amount` = `paid_amount` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0),
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded,
          `fee_amount` = `fee_amount` + -OLD.fee, `net_amount` = `net_amount` + -OLD.net_amount, `refunded_fee` = `refunded_fee` + -OLD.refunded_fee;
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (NEW.tenant_id, NEW.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee),
               (NEW.tenant_id, NEW.currency, 'DAY', DATE(NEW.created_at), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded,
          `fee_amount` = `fee_amount` + NEW.fee, `net_amount` = `net_amount` + NEW.net_amount, `refunded_fee` = `refunded_fee` + NEW.refunded_fee;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (NEW.tenant_id, NEW.currency, TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), 1, NEW.amount, IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0), refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `paid_count` = `paid_count` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), `paid_amount` = `paid_amount` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0),
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded,
          `fee_amount` = `fee_amount` + NEW.fee, `net_amount` = `net_amount` + NEW.net_amount, `refunded_fee` = `refunded_fee` + NEW.refunded_fee;
    ELSE
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (NEW.tenant_id, NEW.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee),
               (NEW.tenant_id, NEW.currency, 'DAY', DATE(NEW.created_at), NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded,
          `fee_amount` = `fee_amount` + NEW.fee, `net_amount` = `net_amount` + NEW.net_amount, `refunded_fee` = `refunded_fee` + NEW.refunded_fee;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (NEW.tenant_id, NEW.currency, TIMESTAMPADD(MINUTE, (HOUR(NEW.created_at) * 60 + MINUTE(NEW.created_at)) DIV 15 * 15, DATE(NEW.created_at)), 1, NEW.amount, IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0), refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + 1, `order_amount` = `order_amount` + NEW.amount,
          `paid_count` = `paid_count` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), 1, 0), `paid_amount` = `paid_amount` + IF(NEW.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), NEW.amount, 0),
          `refund_count` = `refund_count` + refunds, `refunded_amount` = `refunded_amount` + refunded,
          `fee_amount` = `fee_amount` + NEW.fee, `net_amount` = `net_amount` + NEW.net_amount, `refunded_fee` = `refunded_fee` + NEW.refunded_fee;
      INSERT INTO `order_stats_cell`
          (`tenant_id`, `currency`, `grain`, `bucket`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (OLD.tenant_id, OLD.currency, 'QUARTER', TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee),
               (OLD.tenant_id, OLD.currency, 'DAY', DATE(OLD.created_at), OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded,
          `fee_amount` = `fee_amount` + -OLD.fee, `net_amount` = `net_amount` + -OLD.net_amount, `refunded_fee` = `refunded_fee` + -OLD.refunded_fee;
      INSERT INTO `order_stats_quarter`
          (`tenant_id`, `currency`, `bucket`, `order_count`, `order_amount`, `paid_count`, `paid_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
        VALUES (OLD.tenant_id, OLD.currency, TIMESTAMPADD(MINUTE, (HOUR(OLD.created_at) * 60 + MINUTE(OLD.created_at)) DIV 15 * 15, DATE(OLD.created_at)), -1, -OLD.amount, IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0), -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee)
        ON DUPLICATE KEY UPDATE `order_count` = `order_count` + -1, `order_amount` = `order_amount` + -OLD.amount,
          `paid_count` = `paid_count` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -1, 0), `paid_amount` = `paid_amount` + IF(OLD.status IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'), -OLD.amount, 0),
          `refund_count` = `refund_count` + -refunds, `refunded_amount` = `refunded_amount` + -refunded,
          `fee_amount` = `fee_amount` + -OLD.fee, `net_amount` = `net_amount` + -OLD.net_amount, `refunded_fee` = `refunded_fee` + -OLD.refunded_fee;
    END IF;
  END IF;
END;

CREATE TRIGGER `pay_order_stats_delete` AFTER DELETE ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT;
  DECLARE refunded BIGINT;
  SELECT COALESCE(SUM(`refund_count`), 0), COALESCE(SUM(`refunded_amount`), 0) INTO refunds, refunded
    FROM `order_refund_tally` WHERE `pay_no` = OLD.pay_no FOR UPDATE;
  CALL order_stats_add(OLD.tenant_id, OLD.currency, OLD.created_at, OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded,
    -OLD.fee, -OLD.net_amount, -OLD.refunded_fee);
END;
