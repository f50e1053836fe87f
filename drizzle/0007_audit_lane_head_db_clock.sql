-- audit_lane_head also reads the database clock right after reserving the seq numbers, so every instance
-- stamps events with one clock (no skew between hosts) and created_at follows seq order across lanes
-- within the few microseconds between the two (src/audit/query.ts relies on that, with a margin).
DROP FUNCTION IF EXISTS audit_lane_head(integer, integer);
--> statement-breakpoint
CREATE FUNCTION audit_lane_head(p_lane integer, p_n integer)
RETURNS TABLE (hash text, at_ms double precision, seqs bigint[], now_ms double precision)
LANGUAGE plpgsql AS $$
DECLARE
  v_seqs bigint[];
BEGIN
  PERFORM pg_advisory_xact_lock(727275, p_lane);
  v_seqs := array(SELECT nextval(pg_get_serial_sequence('audit_events', 'seq')) FROM generate_series(1, p_n));
  RETURN QUERY
    SELECT h.hash, h.at_ms, v_seqs, (extract(epoch FROM clock_timestamp()) * 1000)::double precision
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
      SELECT e.hash, (extract(epoch FROM e.created_at) * 1000)::double precision AS at_ms
      FROM audit_events e WHERE e.chain_lane = p_lane ORDER BY e.seq DESC LIMIT 1
    ) h ON true;
END;
$$;
