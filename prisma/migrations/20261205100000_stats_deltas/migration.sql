-- GetStatistics' rollup without hot rows (issue 13). The triggers of 20261203120500_fees upserted the rollup rows
-- (order_stats_cell, order_stats_quarter) inside the writing transaction: every CreateOrder of a tenant incremented
-- the same two WAIT_PAY cells and quarter row, every claim moved one order between the same few rows, and each held
-- those row locks until its COMMIT. Under load (32 calls in flight, one tenant) the lock waits on order_stats_cell
-- were nearly all of the database's lock waits (sampled from INNODB_LOCK_WAITS during `npm run bench`), and writes
-- of one tenant queued behind each other's round trips.
--
-- Now the triggers only append the change to order_stats_delta (an INSERT takes no lock another writer waits for),
-- and the service folds the pending deltas into the rollup tables in batches, a few hundred changes in a few
-- upserts (src/repo/stats-fold.ts, run by every worker process: src/jobs/stats-fold.ts). GetStatistics reads the
-- rollup rows and the pending deltas of its range in the same statement, so its answer is exact at every moment,
-- folded or not. order_refund_tally stays as it was (one row per order, never shared).
--
-- Apply while no service writes (as every migration here).

-- CreateTable
CREATE TABLE `order_stats_delta` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `tenant_id` VARCHAR(64) NOT NULL,
    `currency` CHAR(3) NOT NULL,
    `created_at` DATETIME(3) NOT NULL,
    `status` ENUM('WAIT_PAY', 'PAYING', 'SUCCESS', 'CLOSED', 'FAILED', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE') NOT NULL,
    `pay_way` VARCHAR(32) NOT NULL,
    `order_count` BIGINT NOT NULL,
    `order_amount` BIGINT NOT NULL,
    `refund_count` BIGINT NOT NULL,
    `refunded_amount` BIGINT NOT NULL,
    `fee_amount` BIGINT NOT NULL,
    `net_amount` BIGINT NOT NULL,
    `refunded_fee` BIGINT NOT NULL,

    INDEX `idx_order_stats_delta_tenant_id_currency_created_at`(`tenant_id`, `currency`, `created_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

DROP TRIGGER `pay_order_stats_insert`;
DROP TRIGGER `pay_order_stats_update`;
DROP TRIGGER `pay_order_stats_delete`;
DROP PROCEDURE `order_stats_add`;

-- Same signature as before (order_stats_refund calls it): one delta row, with the order's creation time as it is.
CREATE PROCEDURE `order_stats_add`(
  IN p_tenant VARCHAR(64), IN p_currency CHAR(3), IN p_created DATETIME(3), IN p_status VARCHAR(32), IN p_pay_way VARCHAR(32),
  IN d_orders BIGINT, IN d_amount BIGINT, IN d_refunds BIGINT, IN d_refunded BIGINT,
  IN d_fee BIGINT, IN d_net BIGINT, IN d_refunded_fee BIGINT)
BEGIN
  INSERT INTO `order_stats_delta` (`tenant_id`, `currency`, `created_at`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
    VALUES (p_tenant, p_currency, p_created, p_status, p_pay_way, d_orders, d_amount, d_refunds, d_refunded, d_fee, d_net, d_refunded_fee);
END;

CREATE TRIGGER `pay_order_stats_insert` AFTER INSERT ON `pay_order` FOR EACH ROW
  INSERT INTO `order_stats_delta` (`tenant_id`, `currency`, `created_at`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
    VALUES (NEW.tenant_id, NEW.currency, NEW.created_at, NEW.status, NEW.pay_way, 1, NEW.amount, 0, 0, NEW.fee, NEW.net_amount, NEW.refunded_fee);

-- An update that changes what the rollup sums takes the order out of its old cell and puts it into its new one:
-- two delta rows, with the order's SUCCESS refunds (its tally row, locked: a refund's trigger changes it).
CREATE TRIGGER `pay_order_stats_update` AFTER UPDATE ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT;
  DECLARE refunded BIGINT;
  IF NOT (OLD.tenant_id <=> NEW.tenant_id AND OLD.currency <=> NEW.currency AND OLD.created_at <=> NEW.created_at
          AND OLD.status <=> NEW.status AND OLD.pay_way <=> NEW.pay_way AND OLD.amount <=> NEW.amount
          AND OLD.fee <=> NEW.fee AND OLD.net_amount <=> NEW.net_amount AND OLD.refunded_fee <=> NEW.refunded_fee) THEN
    SELECT COALESCE(SUM(`refund_count`), 0), COALESCE(SUM(`refunded_amount`), 0) INTO refunds, refunded
      FROM `order_refund_tally` WHERE `pay_no` = OLD.pay_no FOR UPDATE;
    INSERT INTO `order_stats_delta` (`tenant_id`, `currency`, `created_at`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
      VALUES (OLD.tenant_id, OLD.currency, OLD.created_at, OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee),
             (NEW.tenant_id, NEW.currency, NEW.created_at, NEW.status, NEW.pay_way, 1, NEW.amount, refunds, refunded, NEW.fee, NEW.net_amount, NEW.refunded_fee);
  END IF;
END;

CREATE TRIGGER `pay_order_stats_delete` AFTER DELETE ON `pay_order` FOR EACH ROW
BEGIN
  DECLARE refunds BIGINT;
  DECLARE refunded BIGINT;
  SELECT COALESCE(SUM(`refund_count`), 0), COALESCE(SUM(`refunded_amount`), 0) INTO refunds, refunded
    FROM `order_refund_tally` WHERE `pay_no` = OLD.pay_no FOR UPDATE;
  INSERT INTO `order_stats_delta` (`tenant_id`, `currency`, `created_at`, `status`, `pay_way`, `order_count`, `order_amount`, `refund_count`, `refunded_amount`, `fee_amount`, `net_amount`, `refunded_fee`)
    VALUES (OLD.tenant_id, OLD.currency, OLD.created_at, OLD.status, OLD.pay_way, -1, -OLD.amount, -refunds, -refunded, -OLD.fee, -OLD.net_amount, -OLD.refunded_fee);
END;
