-- The application's database role (docs/audit.md, "Who may change the evidence"). Migrations run as the
-- owner of the tables; the app logs in as a role that is a member of countersign_app, which owns nothing.
-- Only a table's owner (or a superuser) may ALTER it, so the app cannot disable the append-only triggers;
-- and it is not even granted UPDATE, DELETE or TRUNCATE on audit_events, so the evidence is refused twice.
-- Roles are cluster-wide: created once, tolerated when another database of the cluster made it first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    CREATE ROLE countersign_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO countersign_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO countersign_app;
--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM countersign_app;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO countersign_app;
--> statement-breakpoint
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO countersign_app;
--> statement-breakpoint
-- Tables, sequences and functions later migrations create (as the same owner) are the app's to use too;
-- a later migration that adds evidence tables revokes UPDATE/DELETE/TRUNCATE on them as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO countersign_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO countersign_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO countersign_app;
