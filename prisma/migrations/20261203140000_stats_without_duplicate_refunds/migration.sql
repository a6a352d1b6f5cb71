-- GetStatistics counts each order's own payment once; a duplicate payment (a second paid attempt) is not in its
-- paid totals, so the refund that returns it must not be in its refunded totals either (else refunded could
-- exceed paid). The refund triggers of 20261202110000_growth_indexes, recreated to skip refunds of duplicates.

DROP TRIGGER `refund_stats_insert`;
DROP TRIGGER `refund_stats_update`;
DROP TRIGGER `refund_stats_delete`;

CREATE TRIGGER `refund_stats_insert` AFTER INSERT ON `refund` FOR EACH ROW
BEGIN
  IF NEW.status = 'SUCCESS' AND NOT NEW.duplicate THEN
    CALL order_stats_refund(NEW.pay_no, 1, NEW.amount);
  END IF;
END;

CREATE TRIGGER `refund_stats_update` AFTER UPDATE ON `refund` FOR EACH ROW
BEGIN
  IF NOT (OLD.status <=> NEW.status AND OLD.amount <=> NEW.amount AND OLD.pay_no <=> NEW.pay_no AND OLD.duplicate <=> NEW.duplicate) THEN
    IF OLD.status = 'SUCCESS' AND NOT OLD.duplicate THEN
      CALL order_stats_refund(OLD.pay_no, -1, -OLD.amount);
    END IF;
    IF NEW.status = 'SUCCESS' AND NOT NEW.duplicate THEN
      CALL order_stats_refund(NEW.pay_no, 1, NEW.amount);
    END IF;
  END IF;
END;

CREATE TRIGGER `refund_stats_delete` AFTER DELETE ON `refund` FOR EACH ROW
BEGIN
  IF OLD.status = 'SUCCESS' AND NOT OLD.duplicate THEN
    CALL order_stats_refund(OLD.pay_no, -1, -OLD.amount);
  END IF;
END;
