-- Roles instead of the admin flag (ADR 0520): admin tokens become ["admin"]; other tokens could do
-- everything in their tenant, so they become ["tenant-admin"] (revoke and re-create them with less).
ALTER TABLE `api_tokens` ADD `roles` text NOT NULL DEFAULT '[]';--> statement-breakpoint
UPDATE `api_tokens` SET `roles` = CASE WHEN `admin` = 1 THEN '["admin"]' ELSE '["tenant-admin"]' END;--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `created_by` text;--> statement-breakpoint
CREATE INDEX `api_tokens_created_by` ON `api_tokens` (`created_by`);--> statement-breakpoint
ALTER TABLE `api_tokens` DROP COLUMN `admin`;
