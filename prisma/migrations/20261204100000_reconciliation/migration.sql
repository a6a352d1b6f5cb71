-- Statement reconciliation (issue 15): every run of a (tenant, channel, Beijing day) is a recon_run row, and each
-- difference it found a recon_difference row. A payment the statement proves and the books lack is applied through
-- the notify's transition path with the new cause RECONCILE. At most one run of a day is RUNNING at a time:
-- `running` is 1 while it runs and NULL after, and NULLs never collide in the unique index.

-- AlterTable
ALTER TABLE `order_transition` MODIFY `cause` ENUM('RPC', 'NOTIFY', 'TIMEOUT', 'SYNC', 'RECONCILE') NOT NULL;

-- CreateTable
CREATE TABLE `recon_run` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `tenant_id` VARCHAR(64) NOT NULL,
    `channel` VARCHAR(16) NOT NULL,
    `day` DATE NOT NULL,
    `status` ENUM('RUNNING', 'NOT_READY', 'DONE', 'FAILED') NOT NULL,
    `running` BOOLEAN NULL,
    `actor` VARCHAR(128) NOT NULL,
    `error` VARCHAR(512) NULL,
    `payment_lines` INTEGER NOT NULL DEFAULT 0,
    `refund_lines` INTEGER NOT NULL DEFAULT 0,
    `matched` INTEGER NOT NULL DEFAULT 0,
    `differences` INTEGER NOT NULL DEFAULT 0,
    `applied` INTEGER NOT NULL DEFAULT 0,
    `statement_amount` BIGINT NOT NULL DEFAULT 0,
    `statement_refund_amount` BIGINT NOT NULL DEFAULT 0,
    `statement_fee_milli_fen` BIGINT NOT NULL DEFAULT 0,
    `started_at` DATETIME(3) NOT NULL,
    `finished_at` DATETIME(3) NULL,

    UNIQUE INDEX `uk_recon_run_running`(`tenant_id`, `channel`, `day`, `running`),
    INDEX `idx_recon_run_tenant_day`(`tenant_id`, `day`, `id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- CreateTable
CREATE TABLE `recon_difference` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `run_id` BIGINT NOT NULL,
    `tenant_id` VARCHAR(64) NOT NULL,
    `channel` VARCHAR(16) NOT NULL,
    `day` DATE NOT NULL,
    `kind` ENUM('PAID_AT_CHANNEL_ONLY', 'UNKNOWN_TRADE', 'MISSING_AT_CHANNEL', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH', 'REFUND_UNKNOWN', 'REFUND_MISSING_AT_CHANNEL', 'REFUND_AMOUNT_MISMATCH', 'FEE_MISMATCH') NOT NULL,
    `pay_no` VARCHAR(32) NULL,
    `attempt_no` VARCHAR(32) NULL,
    `refund_no` VARCHAR(32) NULL,
    `out_trade_no` VARCHAR(64) NULL,
    `channel_trade_no` VARCHAR(64) NULL,
    `out_refund_no` VARCHAR(64) NULL,
    `statement_amount` BIGINT NULL,
    `local_amount` BIGINT NULL,
    `statement_fee_milli_fen` BIGINT NULL,
    `local_fee_milli_fen` BIGINT NULL,
    `line` INTEGER NULL,
    `resolution` VARCHAR(32) NOT NULL,
    `detail` VARCHAR(512) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `idx_recon_difference_run`(`run_id`, `id`),
    INDEX `idx_recon_difference_pay_no`(`pay_no`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- CreateIndex: the payments and refunds of a tenant's day, for "paid here, absent at the channel"
CREATE INDEX `idx_pay_attempt_tenant_paid_at` ON `pay_attempt`(`tenant_id`, `paid_at`);
CREATE INDEX `idx_refund_tenant_succeeded_at` ON `refund`(`tenant_id`, `succeeded_at`);

-- AddForeignKey
ALTER TABLE `recon_difference` ADD CONSTRAINT `fk_recon_difference_run` FOREIGN KEY (`run_id`) REFERENCES `recon_run`(`id`) ON DELETE RESTRICT ON UPDATE RESTRICT;
