-- The operator console (issue 18): find an order by the channel's trade number through an index, and an audit row
-- for every action an operator takes there (replay an event, query the channel now), with the operator as actor,
-- and a tenant's dead letters through an index of their own.

-- CreateIndex
CREATE INDEX `idx_pay_attempt_tenant_channel_trade_no` ON `pay_attempt`(`tenant_id`, `channel_trade_no`);

-- The dead-letters page reads one tenant's DEAD events, newest first: one range of this index.
-- CreateIndex
CREATE INDEX `idx_outbox_event_tenant_status_next` ON `outbox_event`(`tenant_id`, `status`, `next_attempt_at`);

-- CreateTable
CREATE TABLE `operator_action` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `tenant_id` VARCHAR(64) NOT NULL,
    `actor` VARCHAR(128) NOT NULL,
    `action` VARCHAR(32) NOT NULL,
    `pay_no` VARCHAR(32) NULL,
    `target` VARCHAR(64) NOT NULL,
    `outcome` VARCHAR(512) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `idx_operator_action_tenant_pay_no`(`tenant_id`, `pay_no`, `id`),
    INDEX `idx_operator_action_tenant`(`tenant_id`, `id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
