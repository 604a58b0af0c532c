CREATE TABLE `deployment_revisions` (
	`deployment_id` text NOT NULL,
	`generation` integer NOT NULL,
	`version` text NOT NULL,
	`profile_id` text NOT NULL,
	`parameters` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`deployment_id`, `generation`),
	FOREIGN KEY (`deployment_id`) REFERENCES `deployments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `deployment_targets` (
	`deployment_id` text NOT NULL,
	`node_uid` text NOT NULL,
	`tenant_id` text NOT NULL,
	`site_id` text NOT NULL,
	`node_name` text NOT NULL,
	`desired` text NOT NULL,
	`generation` integer NOT NULL,
	`version` text NOT NULL,
	`prev_generation` integer,
	`prev_yaml_digest` text,
	`yaml` blob,
	`yaml_digest` text,
	`reservation` text,
	`state` text,
	`state_at` integer,
	`adopted_manifest_version` integer,
	`status` text,
	`reported_digest` text,
	`assigned_at` integer NOT NULL,
	PRIMARY KEY(`deployment_id`, `node_uid`),
	FOREIGN KEY (`deployment_id`) REFERENCES `deployments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `targets_node` ON `deployment_targets` (`node_uid`);--> statement-breakpoint
CREATE TABLE `deployments` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`app_id` text NOT NULL,
	`version` text NOT NULL,
	`profile_id` text NOT NULL,
	`parameters` text NOT NULL,
	`target` text NOT NULL,
	`state` text NOT NULL,
	`rollout` text,
	`generation` integer NOT NULL,
	`commit` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deployments_tenant` ON `deployments` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `status_reports` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`deployment_id` text NOT NULL,
	`node_uid` text NOT NULL,
	`device_id` text,
	`state` text NOT NULL,
	`adopted_manifest_version` integer,
	`body` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `status_reports_deployment` ON `status_reports` (`deployment_id`,`seq`);--> statement-breakpoint
CREATE TABLE `client_policy` (
	`pattern` text PRIMARY KEY NOT NULL,
	`effect` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `enroll_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`site_id` text NOT NULL,
	`node_name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enroll_tokens_secret_hash_unique` ON `enroll_tokens` (`secret_hash`);--> statement-breakpoint
CREATE TABLE `lo_bundles` (
	`client_id` text NOT NULL,
	`digest` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`bytes` blob NOT NULL,
	`manifest_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`client_id`, `digest`)
);
--> statement-breakpoint
CREATE TABLE `lo_client_deployments` (
	`client_id` text NOT NULL,
	`deployment_id` text NOT NULL,
	`digest` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`yaml` blob NOT NULL,
	`since_version` integer NOT NULL,
	`until_version` integer,
	`until_at` integer,
	PRIMARY KEY(`client_id`, `deployment_id`, `digest`)
);
--> statement-breakpoint
CREATE INDEX `lo_cd_client` ON `lo_client_deployments` (`client_id`);--> statement-breakpoint
CREATE TABLE `lo_clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`manifest_version` integer NOT NULL,
	`manifest` blob NOT NULL,
	`manifest_digest` text NOT NULL,
	`bundle_digest` text,
	`commit` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `lo_devices` (
	`client_id` text NOT NULL,
	`device_id` text NOT NULL,
	`capabilities` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`client_id`, `device_id`)
);
--> statement-breakpoint
CREATE TABLE `lo_sources` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`commit` text,
	`updated_at` integer NOT NULL,
	`last_error` text,
	`last_error_at` integer
);
--> statement-breakpoint
CREATE TABLE `svids` (
	`serial_hex` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`spiffe_id` text NOT NULL,
	`issued_at` integer NOT NULL,
	`not_after` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `svids_client` ON `svids` (`client_id`);