-- AlterTable
ALTER TABLE `outbox_event` MODIFY `status` ENUM('PENDING', 'QUEUED', 'DELIVERED', 'DEAD') NOT NULL DEFAULT 'PENDING';

-- CreateTable
CREATE TABLE `event_delivery` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `event_id` VARCHAR(36) NOT NULL,
    `attempt` INTEGER NOT NULL,
    `target` VARCHAR(300) NOT NULL,
    `ok` BOOLEAN NOT NULL,
    `detail` VARCHAR(512) NOT NULL,
    `duration_ms` INTEGER NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `idx_event_delivery_event_id`(`event_id`, `id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateIndex
CREATE INDEX `idx_pay_attempt_status_updated_at` ON `pay_attempt`(`status`, `updated_at`);

-- CreateIndex
CREATE INDEX `idx_refund_status_updated_at` ON `refund`(`status`, `updated_at`);
