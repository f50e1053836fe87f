CREATE TABLE "budget_counters" (
	"budget" text NOT NULL,
	"scope_key" text NOT NULL,
	"window" text NOT NULL,
	"reserved" numeric DEFAULT '0' NOT NULL,
	"spent" numeric DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budget_counters_budget_scope_key_window_pk" PRIMARY KEY("budget","scope_key","window")
);
--> statement-breakpoint
CREATE TABLE "budget_reservations" (
	"action_id" text NOT NULL,
	"budget" text NOT NULL,
	"scope_key" text NOT NULL,
	"window" text NOT NULL,
	"amount" numeric NOT NULL,
	"state" text DEFAULT 'reserved' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "budget_reservations_action_id_budget_pk" PRIMARY KEY("action_id","budget")
);
--> statement-breakpoint
ALTER TABLE "budget_reservations" ADD CONSTRAINT "budget_reservations_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "budget_reservations_counter_idx" ON "budget_reservations" USING btree ("budget","scope_key","window");