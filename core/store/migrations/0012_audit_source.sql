-- Where each audited call came from (ADR 0232). Older rows: the desktop's IPC is the console, the Margo
-- interface is an agent; over HTTP the console and the CLI cannot be told apart afterwards ('api').
ALTER TABLE `audit` ADD `source` text DEFAULT 'api' NOT NULL;--> statement-breakpoint
CREATE INDEX `audit_tenant_source` ON `audit` (`tenant_id`,`source`);--> statement-breakpoint
DROP TRIGGER `audit_no_update`;--> statement-breakpoint
UPDATE `audit` SET `source` = CASE `transport` WHEN 'ipc' THEN 'console' WHEN 'mmi' THEN 'agent' ELSE 'api' END;--> statement-breakpoint
CREATE TRIGGER `audit_no_update` BEFORE UPDATE ON `audit`
BEGIN
  SELECT RAISE(ABORT, 'audit log is append-only');
END;
