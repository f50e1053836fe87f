ALTER TABLE "actions" ADD COLUMN "escalated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "escalation_slack_channel" text;--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "escalation_slack_ts" text;