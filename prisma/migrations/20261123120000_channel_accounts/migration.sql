-- CreateTable
CREATE TABLE `channel_account` (
    `tenant_id` VARCHAR(64) NOT NULL,
    `channel` VARCHAR(16) NOT NULL,
    `app_id` VARCHAR(64) NOT NULL,
    `merchant_id` VARCHAR(64) NOT NULL,
    `settings` JSON NOT NULL,
    `secrets` TEXT NOT NULL,
    `key_id` VARCHAR(32) NOT NULL,
    `version` INTEGER NOT NULL DEFAULT 1,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`tenant_id`, `channel`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
