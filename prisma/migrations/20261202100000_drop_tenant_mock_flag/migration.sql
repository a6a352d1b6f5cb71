-- The per-tenant mock flag goes (issue 12): a tenant has the mock channel when it has a mock channel account,
-- like any channel, and never in production. The flag gated nothing any more, so dropping it changes no tenant's
-- pay ways; `npm run tenant -- add <id> --mock` now saves the account instead.

-- AlterTable
ALTER TABLE `tenant` DROP COLUMN `mock_enabled`;
