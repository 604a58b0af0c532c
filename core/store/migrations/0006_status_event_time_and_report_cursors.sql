CREATE TABLE `report_cursors` (
	`origin` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`applied_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `deployment_targets` ADD `received_at` integer;--> statement-breakpoint
ALTER TABLE `status_reports` ADD `event_at` integer;