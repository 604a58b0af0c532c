CREATE TABLE `enroll_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`poll_hash` text NOT NULL,
	`csr` text NOT NULL,
	`key_fingerprint` text NOT NULL,
	`code` text NOT NULL,
	`requested_name` text,
	`hostname` text,
	`address` text NOT NULL,
	`hardware` text,
	`agent_version` text,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_at` integer,
	`decided_by` text,
	`reason` text,
	`node_uid` text,
	`site_id` text,
	`cert_pem` text,
	`delivered_at` integer
);
--> statement-breakpoint
CREATE INDEX `enroll_requests_state` ON `enroll_requests` (`state`);--> statement-breakpoint
CREATE INDEX `enroll_requests_address` ON `enroll_requests` (`address`);--> statement-breakpoint
CREATE TABLE `trusted_cas` (
	`fingerprint` text PRIMARY KEY NOT NULL,
	`cert_pem` text NOT NULL,
	`subject` text NOT NULL,
	`not_after` integer NOT NULL,
	`added_at` integer NOT NULL,
	`added_by` text NOT NULL
);
