-- CreateIndex
CREATE INDEX `idx_pay_order_tenant_user_created_at` ON `pay_order`(`tenant_id`, `user_id`, `created_at`);
