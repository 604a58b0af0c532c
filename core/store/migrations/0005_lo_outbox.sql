CREATE TABLE `lo_outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`node_uid` text NOT NULL,
	`kind` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
