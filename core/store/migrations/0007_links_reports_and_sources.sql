CREATE TABLE `report_cursors` (
	`origin` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`applied_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `deployment_targets` ADD `received_at` integer;--> statement-breakpoint
ALTER TABLE `status_reports` ADD `event_at` integer;--> statement-breakpoint
ALTER TABLE `lo_sources` ADD `adopted_at` integer;--> statement-breakpoint
ALTER TABLE `lo_sources` ADD `checked_at` integer;--> statement-breakpoint
ALTER TABLE `lo_sources` ADD `last_error_kind` text;--> statement-breakpoint
ALTER TABLE `lo_sources` ADD `failing_since` integer;--> statement-breakpoint
UPDATE `lo_sources` SET `adopted_at` = `updated_at` WHERE `commit` IS NOT NULL;