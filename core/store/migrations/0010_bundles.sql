CREATE TABLE `bundle_exports` (
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`target` text NOT NULL,
	`sequence` integer NOT NULL,
	`state` text NOT NULL,
	`file` text,
	`created_at` integer NOT NULL,
	`summary` text,
	`covers` text NOT NULL,
	PRIMARY KEY(`kind`, `source`, `target`, `sequence`)
);
--> statement-breakpoint
CREATE TABLE `bundle_imports` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`target` text NOT NULL,
	`sequence` integer NOT NULL,
	`index_digest` text NOT NULL,
	`state` text NOT NULL,
	`staging_dir` text NOT NULL,
	`plan` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `bundle_imports_state` ON `bundle_imports` (`state`);--> statement-breakpoint
CREATE TABLE `bundle_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`storage` text NOT NULL,
	`sealed` blob,
	`rotation` text,
	`previous_key_id` text,
	`created_at` integer NOT NULL,
	`retired_at` integer
);
--> statement-breakpoint
CREATE TABLE `bundle_streams` (
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`target` text NOT NULL,
	`last_exported_sequence` integer,
	`last_exported_at` integer,
	`last_exported` text,
	`last_imported_sequence` integer,
	`last_imported_at` integer,
	`last_imported` text,
	`acknowledged` integer,
	`acknowledged_at` integer,
	`state` text,
	PRIMARY KEY(`kind`, `source`, `target`)
);
--> statement-breakpoint
CREATE TABLE `bundle_trust` (
	`key_id` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`name` text,
	`site_id` text,
	`origin` text NOT NULL,
	`rotated_from` text,
	`added_at` integer NOT NULL,
	`removed_at` integer
);
--> statement-breakpoint
CREATE TABLE `site_records` (
	`site_id` text NOT NULL,
	`stream` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`record` text NOT NULL,
	`bundle_sequence` integer NOT NULL,
	PRIMARY KEY(`site_id`, `stream`, `seq`)
);
--> statement-breakpoint
ALTER TABLE `sites` ADD `air_gapped` integer DEFAULT false NOT NULL;