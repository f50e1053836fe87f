-- One round trip for an append (src/audit/append.ts): take the lane's lock (held to the end of the
-- transaction), then read the lane's head and reserve n seq numbers.
CREATE OR REPLACE FUNCTION audit_lane_head(p_lane integer, p_n integer)
RETURNS TABLE (hash text, at_ms double precision, seqs bigint[])
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(727275, p_lane);
  RETURN QUERY
    SELECT h.hash, h.at_ms, array(SELECT nextval(pg_get_serial_sequence('audit_events', 'seq')) FROM generate_series(1, p_n))
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
      SELECT e.hash, (extract(epoch FROM e.created_at) * 1000)::double precision AS at_ms
      FROM audit_events e WHERE e.chain_lane = p_lane ORDER BY e.seq DESC LIMIT 1
    ) h ON true;
END;
$$;
