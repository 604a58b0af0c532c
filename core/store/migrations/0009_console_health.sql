CREATE TABLE `metric_samples` (
	`tenant_id` text NOT NULL,
	`series` text NOT NULL,
	`subject` text NOT NULL,
	`step` integer NOT NULL,
	`at` integer NOT NULL,
	`values` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `series`, `subject`, `step`, `at`)
);
--> statement-breakpoint
CREATE TABLE `node_presence_history` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`node_uid` text NOT NULL,
	`tenant_id` text NOT NULL,
	`presence` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `node_presence_history_node` ON `node_presence_history` (`node_uid`,`at`);--> statement-breakpoint
CREATE INDEX `audit_tenant_target` ON `audit` (`tenant_id`,`target`);