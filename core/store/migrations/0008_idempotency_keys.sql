CREATE TABLE `idempotency_keys` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`input_digest` text NOT NULL,
	`ref` text,
	`result` text,
	`audit_seq` integer,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created` ON `idempotency_keys` (`created_at`);