-- CreateTable
CREATE TABLE `pay_order` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `pay_no` VARCHAR(32) NOT NULL,
    `tenant_id` VARCHAR(64) NOT NULL,
    `out_order_no` VARCHAR(64) NOT NULL,
    `amount` BIGINT NOT NULL,
    `currency` CHAR(3) NOT NULL,
    `subject` VARCHAR(256) NOT NULL,
    `description` VARCHAR(1024) NOT NULL,
    `user_id` VARCHAR(64) NOT NULL,
    `pay_way` VARCHAR(32) NOT NULL,
    `status` ENUM('WAIT_PAY', 'PAYING', 'SUCCESS', 'CLOSED', 'FAILED', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE') NOT NULL,
    `notify_topic` VARCHAR(255) NOT NULL,
    `attach` VARCHAR(128) NOT NULL,
    `extra` JSON NOT NULL,
    `client_ip` VARCHAR(45) NOT NULL,
    `return_url` VARCHAR(1024) NOT NULL,
    `expire_seconds` INTEGER NOT NULL,
    `expire_at` DATETIME(3) NOT NULL,
    `refunded_amount` BIGINT NOT NULL DEFAULT 0,
    `refund_pending_amount` BIGINT NOT NULL DEFAULT 0,
    `channel_trade_no` VARCHAR(64) NULL,
    `paid_at` DATETIME(3) NULL,
    `version` BIGINT NOT NULL DEFAULT 1,
    `pay_way_switches` INTEGER NOT NULL DEFAULT 0,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `uk_pay_order_pay_no`(`pay_no`),
    INDEX `idx_pay_order_status_expire_at`(`status`, `expire_at`),
    INDEX `idx_pay_order_tenant_created_at`(`tenant_id`, `created_at`),
    UNIQUE INDEX `uk_pay_order_tenant_out_order_no`(`tenant_id`, `out_order_no`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `pay_attempt` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `attempt_no` VARCHAR(32) NOT NULL,
    `pay_no` VARCHAR(32) NOT NULL,
    `tenant_id` VARCHAR(64) NOT NULL,
    `pay_way` VARCHAR(32) NOT NULL,
    `channel` VARCHAR(16) NOT NULL,
    `status` ENUM('CREATED', 'OPEN', 'SUCCESS', 'CLOSED', 'FAILED') NOT NULL,
    `payload` JSON NULL,
    `payer_id` VARCHAR(128) NOT NULL,
    `client_ip` VARCHAR(45) NOT NULL,
    `channel_trade_no` VARCHAR(64) NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `uk_pay_attempt_attempt_no`(`attempt_no`),
    INDEX `idx_pay_attempt_pay_no`(`pay_no`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `refund` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `refund_no` VARCHAR(32) NOT NULL,
    `tenant_id` VARCHAR(64) NOT NULL,
    `out_refund_no` VARCHAR(64) NOT NULL,
    `pay_no` VARCHAR(32) NOT NULL,
    `attempt_no` VARCHAR(32) NOT NULL,
    `amount` BIGINT NOT NULL,
    `currency` CHAR(3) NOT NULL,
    `reason` VARCHAR(256) NOT NULL,
    `status` ENUM('PENDING', 'SUCCESS', 'FAILED') NOT NULL,
    `channel_refund_no` VARCHAR(64) NULL,
    `failure_reason` VARCHAR(512) NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `succeeded_at` DATETIME(3) NULL,

    UNIQUE INDEX `uk_refund_refund_no`(`refund_no`),
    INDEX `idx_refund_pay_no`(`pay_no`),
    INDEX `idx_refund_status_created_at`(`status`, `created_at`),
    UNIQUE INDEX `uk_refund_tenant_out_refund_no`(`tenant_id`, `out_refund_no`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `order_transition` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `pay_no` VARCHAR(32) NOT NULL,
    `from_status` ENUM('WAIT_PAY', 'PAYING', 'SUCCESS', 'CLOSED', 'FAILED', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE') NOT NULL,
    `to_status` ENUM('WAIT_PAY', 'PAYING', 'SUCCESS', 'CLOSED', 'FAILED', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE') NOT NULL,
    `cause` ENUM('RPC', 'NOTIFY', 'TIMEOUT', 'SYNC') NOT NULL,
    `detail` VARCHAR(512) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `idx_order_transition_pay_no`(`pay_no`, `id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `notify_record` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `channel` VARCHAR(16) NOT NULL,
    `tenant_id` VARCHAR(64) NOT NULL,
    `notify_id` VARCHAR(128) NOT NULL,
    `pay_no` VARCHAR(32) NULL,
    `kind` VARCHAR(16) NOT NULL,
    `raw_payload` MEDIUMTEXT NOT NULL,
    `headers` JSON NOT NULL,
    `signature_valid` BOOLEAN NOT NULL,
    `result` ENUM('PROCESSED', 'DUPLICATE', 'REJECTED', 'IGNORED') NOT NULL,
    `detail` VARCHAR(512) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `idx_notify_record_channel_notify_id`(`channel`, `notify_id`),
    INDEX `idx_notify_record_pay_no`(`pay_no`, `id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `notify_receipt` (
    `channel` VARCHAR(16) NOT NULL,
    `notify_id` VARCHAR(128) NOT NULL,
    `pay_no` VARCHAR(32) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`channel`, `notify_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `outbox_event` (
    `id` VARCHAR(36) NOT NULL,
    `tenant_id` VARCHAR(64) NOT NULL,
    `pay_no` VARCHAR(32) NOT NULL,
    `type` VARCHAR(48) NOT NULL,
    `order_version` BIGINT NOT NULL,
    `topic` VARCHAR(255) NOT NULL,
    `payload` JSON NOT NULL,
    `status` ENUM('PENDING', 'DELIVERED', 'DEAD') NOT NULL DEFAULT 'PENDING',
    `attempts` INTEGER NOT NULL DEFAULT 0,
    `last_error` VARCHAR(512) NULL,
    `next_attempt_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `delivered_at` DATETIME(3) NULL,

    INDEX `idx_outbox_event_status_next`(`status`, `next_attempt_at`),
    INDEX `idx_outbox_event_pay_no`(`pay_no`, `order_version`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `pay_way_config` (
    `tenant_id` VARCHAR(64) NOT NULL,
    `pay_way` VARCHAR(32) NOT NULL,
    `enabled` BOOLEAN NOT NULL,
    `fee_rate_bps` INTEGER NOT NULL,
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`tenant_id`, `pay_way`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `pay_attempt` ADD CONSTRAINT `fk_pay_attempt_pay_no` FOREIGN KEY (`pay_no`) REFERENCES `pay_order`(`pay_no`) ON DELETE RESTRICT ON UPDATE RESTRICT;

-- AddForeignKey
ALTER TABLE `refund` ADD CONSTRAINT `fk_refund_pay_no` FOREIGN KEY (`pay_no`) REFERENCES `pay_order`(`pay_no`) ON DELETE RESTRICT ON UPDATE RESTRICT;

-- AddForeignKey
ALTER TABLE `order_transition` ADD CONSTRAINT `fk_order_transition_pay_no` FOREIGN KEY (`pay_no`) REFERENCES `pay_order`(`pay_no`) ON DELETE RESTRICT ON UPDATE RESTRICT;
