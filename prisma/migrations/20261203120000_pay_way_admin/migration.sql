-- Operators manage pay ways without SQL (issue 14 §4): UpdatePayWay / `npm run pay-way -- set` write a tenant's
-- config of one pay way with a compare-and-set on `version`, and every change leaves a pay_way_change row with
-- its actor and the config before and after. A fee rule is rate (basis points) and a minimum fee in fen.

-- AlterTable
ALTER TABLE `pay_way_config`
    ADD COLUMN `min_fee` BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN `display_order` INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN `version` INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN `updated_by` VARCHAR(128) NOT NULL DEFAULT '';

-- CreateTable
CREATE TABLE `pay_way_change` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `tenant_id` VARCHAR(64) NOT NULL,
    `pay_way` VARCHAR(32) NOT NULL,
    `version` INTEGER NOT NULL,
    `actor` VARCHAR(128) NOT NULL,
    `before` JSON NULL,
    `after` JSON NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `uk_pay_way_change_version`(`tenant_id`, `pay_way`, `version`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
