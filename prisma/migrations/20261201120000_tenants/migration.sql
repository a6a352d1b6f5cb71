-- Tenants are registered (issue 10): every RPC names a tenant in this table, or it is NOT_FOUND. The id
-- compares byte for byte (utf8mb4_bin): "DEMO" is not "demo".
CREATE TABLE `tenant` (
    `id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(128) NOT NULL,
    `mock_enabled` BOOLEAN NOT NULL DEFAULT false,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- A database in use already serves tenants that were never registered: keep them working. Every tenant with
-- an order or a channel account becomes registered under its own id as its name, with the mock channel off
-- (an operator turns it on with `npm run tenant -- add <id> --mock`). Ids are read byte for byte, so ids
-- the old collation confused ("DEMO" and "demo") each keep their own row.
INSERT IGNORE INTO `tenant` (`id`, `name`)
SELECT `id`, `id` FROM (
    SELECT `tenant_id` COLLATE utf8mb4_bin AS `id` FROM `pay_order`
    UNION
    SELECT `tenant_id` COLLATE utf8mb4_bin AS `id` FROM `channel_account`
) AS `known`;
