-- A Prepay's claim as one statement (src/repo/claim.ts): the order becomes PAYING for a new attempt (a compare-and-set
-- on its status and version), with its audit row, a retry's outbox event and the attempt itself, all or nothing.
-- Sent as five statements and a COMMIT it cost two round trips and ~6 statements' driver work per Prepay; as one
-- CALL, one of each. All or nothing without a client in the loop: any error (a deadlock victim, a lock wait
-- timeout, which InnoDB would roll back for its statement only, a duplicate attempt number, a Galera certification
-- failure at COMMIT) rolls the whole transaction back and is raised to the caller, which retries conflicts
-- (retryConflicts). A lost compare-and-set rolls back and answers NULL. Returns one row: the attempt's id, or NULL.
-- A killed statement (KILL QUERY, max_statement_time) and a fatal error skip the handler and may leave the
-- transaction open: the caller then rolls its connection back (callProcedure, src/repo/tx.ts). Never called inside
-- a transaction: SET TRANSACTION fails there (1568), and the handler's ROLLBACK would undo the caller's work.
-- SQL SECURITY INVOKER: it runs with the service's own privileges (it needs EXECUTE on it), not its creator's.
CREATE PROCEDURE `claim_attempt`(
  IN p_pay_no VARCHAR(32),
  IN p_from_status VARCHAR(32),
  IN p_version BIGINT,
  IN p_pay_way VARCHAR(32),
  IN p_pay_way_switches INT,
  IN p_clear_close_reason BOOLEAN,
  IN p_attempt_no VARCHAR(32),
  IN p_tenant_id VARCHAR(64),
  IN p_channel VARCHAR(16),
  IN p_payer_id VARCHAR(128),
  IN p_client_ip VARCHAR(45),
  IN p_cause VARCHAR(16),
  IN p_actor VARCHAR(128),
  IN p_detail VARCHAR(512),
  IN p_event_id VARCHAR(36),
  IN p_event_type VARCHAR(48),
  IN p_topic VARCHAR(255),
  IN p_event_payload LONGTEXT,
  IN p_now DATETIME(3)
)
MODIFIES SQL DATA
SQL SECURITY INVOKER
BEGIN
  DECLARE attempt_id BIGINT DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  -- The compare-and-set decides on the version, not on anything read: no gap locks.
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  UPDATE `pay_order`
     SET `pay_way` = p_pay_way, `pay_way_switches` = p_pay_way_switches, `current_attempt_no` = p_attempt_no,
         `close_reason` = IF(p_clear_close_reason, NULL, `close_reason`),
         `status` = 'PAYING', `version` = `version` + 1, `updated_at` = p_now
   WHERE `pay_no` = p_pay_no AND `status` = p_from_status AND `version` = p_version;
  IF ROW_COUNT() = 1 THEN
    INSERT INTO `order_transition` (`pay_no`, `from_status`, `to_status`, `cause`, `actor`, `detail`, `created_at`)
      VALUES (p_pay_no, p_from_status, 'PAYING', p_cause, p_actor, p_detail, p_now);
    IF p_event_id IS NOT NULL THEN
      INSERT INTO `outbox_event` (`id`, `tenant_id`, `pay_no`, `type`, `order_version`, `topic`, `payload`, `next_attempt_at`, `created_at`)
        VALUES (p_event_id, p_tenant_id, p_pay_no, p_event_type, p_version + 1, p_topic, p_event_payload, p_now, p_now);
    END IF;
    INSERT INTO `pay_attempt` (`attempt_no`, `pay_no`, `tenant_id`, `pay_way`, `channel`, `status`, `payer_id`, `client_ip`, `created_at`, `updated_at`)
      VALUES (p_attempt_no, p_pay_no, p_tenant_id, p_pay_way, p_channel, 'CREATED', p_payer_id, p_client_ip, p_now, p_now);
    SET attempt_id = LAST_INSERT_ID();
    COMMIT;
  ELSE
    ROLLBACK;
  END IF;
  SELECT attempt_id;
END;
