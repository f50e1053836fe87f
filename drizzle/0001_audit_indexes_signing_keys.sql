CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"private_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
DROP INDEX "audit_agent_idx";--> statement-breakpoint
DROP INDEX "audit_type_created_idx";--> statement-breakpoint
DROP INDEX "audit_created_idx";--> statement-breakpoint
CREATE INDEX "audit_agent_seq_idx" ON "audit_events" USING btree ("agent_id","seq");--> statement-breakpoint
CREATE INDEX "audit_actor_seq_idx" ON "audit_events" USING btree ("actor","seq");--> statement-breakpoint
CREATE INDEX "audit_type_seq_idx" ON "audit_events" USING btree ("type","seq");--> statement-breakpoint
CREATE INDEX "audit_created_idx" ON "audit_events" USING btree ("created_at","seq");