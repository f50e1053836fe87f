CREATE TABLE "standing_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"origin_action_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"action_class" text NOT NULL,
	"executor" text NOT NULL,
	"rule_id" text NOT NULL,
	"policy_version" text NOT NULL,
	"approver_group" text NOT NULL,
	"fixed_hash" text NOT NULL,
	"variable" jsonb NOT NULL,
	"approvers" jsonb NOT NULL,
	"max_count" integer NOT NULL,
	"used_count" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"ended_reason" text,
	"ended_by" text,
	"ended_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "standing_grants_origin_action_id_unique" UNIQUE("origin_action_id")
);
--> statement-breakpoint
DROP INDEX "approvals_action_approver_uq";--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "edited" jsonb;--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "grant_id" text;--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "rollback_of" text;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "grant_id" text;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "grant_request" jsonb;--> statement-breakpoint
ALTER TABLE "budget_reservations" ADD COLUMN "overrun" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "standing_grants" ADD CONSTRAINT "standing_grants_origin_action_id_actions_id_fk" FOREIGN KEY ("origin_action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "standing_grants" ADD CONSTRAINT "standing_grants_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "standing_grants_active_idx" ON "standing_grants" USING btree ("agent_id","action_class") WHERE status = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "actions_rollback_of_uq" ON "actions" USING btree ("rollback_of") WHERE rollback_of is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_action_approver_hash_uq" ON "approvals" USING btree ("action_id","approver","payload_hash");