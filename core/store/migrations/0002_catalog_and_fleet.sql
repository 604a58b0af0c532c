CREATE TABLE `app_versions` (
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`version` text NOT NULL,
	`digest` text NOT NULL,
	`description` text NOT NULL,
	`original` blob NOT NULL,
	`warnings` text NOT NULL,
	`source` text NOT NULL,
	`icon` text,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `app_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `apps` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `device_models` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`vendor` text NOT NULL,
	`model_number` text NOT NULL,
	`description` text,
	`runtimes` text NOT NULL,
	`deployment_types` text NOT NULL,
	`capabilities` text NOT NULL,
	`icon` text,
	`documentation_url` text,
	`original` blob NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `node_devices` (
	`node_uid` text NOT NULL,
	`device_id` text NOT NULL,
	`capabilities` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`node_uid`, `device_id`),
	FOREIGN KEY (`node_uid`) REFERENCES `nodes`(`uid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `nodes` (
	`uid` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`site_id` text NOT NULL,
	`model_id` text,
	`labels` text NOT NULL,
	`cordoned` integer DEFAULT false NOT NULL,
	`state` text NOT NULL,
	`capabilities` text,
	`capabilities_at` integer,
	`last_seen_at` integer,
	`enrolled_at` integer,
	`revoked_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_tenant_name` ON `nodes` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `nodes_tenant_site` ON `nodes` (`tenant_id`,`site_id`);--> statement-breakpoint
CREATE TABLE `orchestrators` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`site_id` text NOT NULL,
	`name` text NOT NULL,
	`mmi_url` text,
	`ca_fingerprint` text,
	`last_seen_at` integer,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `orchestrators_site` ON `orchestrators` (`tenant_id`,`site_id`);--> statement-breakpoint
CREATE TABLE `sites` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`labels` text NOT NULL,
	`served_by` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
