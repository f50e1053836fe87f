import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { parseEnv } from '../config/env';
import { findAgentByName } from '../auth/agents';
import { formatAnchor, parseAnchor, verifyChain, type LaneHead } from '../audit/verify';
import { actionEvents } from '../audit/query';
import { exportEvents, type ExportFormat } from '../audit/export';
import { toEventView } from '../audit/event-view';
import { renderTimeline } from '../audit/timeline';
import { parseMoment } from '../audit/time-range';
import { verifyReceipt, type KeySet } from '../receipts';
import { parseFlags, processIo, type CliIo } from './io';
import { withOperatorDb, type OperatorHandle } from './operator-db';

export const USAGE = `usage:
  countersign audit verify [--batch N] [--anchor LANE:SEQ:HASH,…] [--anchors FILE [--keys URL|FILE]] [--json]
  countersign audit anchor [--file FILE] [--url HTTPS_URL]   sign the chain heads and write them outside the database
  countersign audit show ACTION_ID [--json]
  countersign audit export --since 24h|ISO [--until ISO] [--agent NAME] [--action ID] [--corr ID] [--type T] [--actor A]
                           [--format jsonl|csv] [--out FILE]
  countersign audit verify-receipt FILE|- [--keys URL|FILE] [--payload-hash HASH]
  countersign audit verify-report FILE|- --keys URL|FILE     a signed drill report`;

/** `countersign audit …`: exit 0 when all is well, 1 when the chain or a receipt does not verify, 2 on usage. */
export async function runAuditCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, positionals } = parseFlags(rest);
  if (sub === 'verify-receipt') return verifyReceiptCommand(positionals, flags, io);
  if (sub === 'verify-report') {
    const { verifyReportCommand } = await import('./verify-report');
    return verifyReportCommand(positionals[0], str(flags.keys), flags.json === true, io, loadKeys);
  }
  if (sub !== 'verify' && sub !== 'show' && sub !== 'export' && sub !== 'anchor') {
    io.stderr(USAGE);
    return 2;
  }
  return withOperatorDb(io, async (handle) => {
    if (sub === 'anchor') {
      const { anchorCommand } = await import('./audit-anchor');
      return await anchorCommand(handle.db, flags, io);
    }
    if (sub === 'verify' && str(flags.anchors)) {
      const { anchoredHeads } = await import('./audit-anchor');
      const heads = await anchoredHeads(handle.db, str(flags.anchors)!, str(flags.keys), io, loadKeys);
      if (!heads) return 1;
      const given = str(flags.anchor) ? parseAnchor(str(flags.anchor)!) : [];
      if (!given) {
        io.stderr('--anchor must be LANE:SEQ:HASH[,…] (as printed by an earlier verify)');
        return 2;
      }
      return await verifyCommand(handle.db, { ...flags, anchor: formatAnchor([...given, ...heads]) }, io);
    }
    if (sub === 'verify') return await verifyCommand(handle.db, flags, io);
    if (sub === 'show') return await showCommand(handle.db, positionals, flags, io);
    return await exportCommand(handle, flags, io);
  }, { max: 2, applicationName: `countersign-audit-${sub}` });
}

type Flags = Record<string, string | true>;
const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);

async function verifyCommand(db: Parameters<typeof verifyChain>[0], flags: Flags, io: CliIo): Promise<number> {
  let anchors: LaneHead[] | undefined;
  if (str(flags.anchor)) {
    const parsed = parseAnchor(str(flags.anchor)!);
    if (!parsed) {
      io.stderr('--anchor must be LANE:SEQ:HASH[,…] (as printed by an earlier verify)');
      return 2;
    }
    anchors = parsed;
  }
  const result = await verifyChain(db, { batchSize: Number(str(flags.batch) ?? 2000), anchors });
  if (flags.json) io.stdout(JSON.stringify(result));
  else if (result.ok) {
    io.stdout(`chain intact: ${result.checked} events verified in ${result.heads.length} lane(s)`);
    if (result.heads.length) io.stdout(`anchor: ${formatAnchor(result.heads)}\n(keep it elsewhere; pass it as --anchor next time to catch truncation of the tail)`);
  } else {
    const b = result.break!;
    io.stdout(`chain BROKEN after ${result.checked} good events: ${b.kind} at seq ${b.seq}${b.id ? ` (${b.id})` : ''}`);
    io.stdout(b.detail);
  }
  return result.ok ? 0 : 1;
}

async function showCommand(db: Parameters<typeof actionEvents>[0], positionals: string[], flags: Flags, io: CliIo): Promise<number> {
  const id = positionals[0];
  if (!id) {
    io.stderr(USAGE);
    return 2;
  }
  const events = (await actionEvents(db, id)).map(toEventView);
  if (flags.json) io.stdout(JSON.stringify({ action_id: id, events }));
  else io.stdout(events.length ? renderTimeline(events) : `no events for ${id}`);
  return events.length ? 0 : 1;
}

async function exportCommand(handle: OperatorHandle, flags: Flags, io: CliIo): Promise<number> {
  const format = (str(flags.format) ?? 'jsonl') as ExportFormat;
  if (format !== 'jsonl' && format !== 'csv') {
    io.stderr('--format must be jsonl or csv');
    return 2;
  }
  const since = str(flags.since) ? parseMoment(str(flags.since)!) : null;
  const until = str(flags.until) ? parseMoment(str(flags.until)!) : null;
  if (!since || (flags.until && !until)) {
    io.stderr(`--since is required, and --since/--until take an ISO time or an age (24h, 7d)\n${USAGE}`);
    return 2;
  }
  let agentId: string | undefined;
  if (str(flags.agent)) {
    const agent = await findAgentByName(handle.db, str(flags.agent)!);
    if (!agent) {
      io.stderr(`no agent named ${str(flags.agent)}`);
      return 1;
    }
    agentId = agent.id;
  }
  const filter = {
    since,
    ...(until ? { until } : {}),
    ...(agentId ? { agent_id: agentId } : {}),
    ...(str(flags.action) ? { action_id: str(flags.action) } : {}),
    ...(str(flags.corr) ? { correlation_id: str(flags.corr) } : {}),
    ...(str(flags.type) ? { type: str(flags.type) } : {}),
    ...(str(flags.actor) ? { actor: str(flags.actor) } : {}),
  };
  const out = str(flags.out) ? createWriteStream(str(flags.out)!) : io === processIo ? process.stdout : null;
  // Honour back-pressure on real streams so memory stays flat; tests capture through io.stdout.
  const write = out
    ? async (chunk: string) => {
        if (!out.write(chunk)) await once(out, 'drain');
      }
    : (chunk: string) => io.stdout(chunk);
  const n = await exportEvents(handle.db, handle.sql, filter, format, write);
  if (out && out !== process.stdout) await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(() => r()));
  io.stderr(`exported ${n} events`);
  return 0;
}

export async function loadKeys(source: string): Promise<KeySet> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`${source}: HTTP ${res.status}`);
    return (await res.json()) as KeySet;
  }
  return JSON.parse(readFileSync(source, 'utf8')) as KeySet;
}

async function verifyReceiptCommand(positionals: string[], flags: Flags, io: CliIo): Promise<number> {
  const file = positionals[0];
  if (!file) {
    io.stderr(USAGE);
    return 2;
  }
  // Offline by design: the environment is read only when no --keys is given.
  const publicUrl = str(flags.keys) ? undefined : parseEnv().COUNTERSIGN_PUBLIC_URL;
  const keysSource = str(flags.keys) ?? (publicUrl ? new URL('/.well-known/countersign-keys', publicUrl).toString() : undefined);
  if (!keysSource) {
    io.stderr('--keys URL|FILE is required (or set COUNTERSIGN_PUBLIC_URL)');
    return 2;
  }
  let input: unknown;
  try {
    input = JSON.parse(file === '-' ? await io.readStdin() : readFileSync(file, 'utf8'));
  } catch (e) {
    io.stderr(`cannot read the receipt: ${(e as Error).message}`);
    return 2;
  }
  let keys: KeySet;
  try {
    keys = await loadKeys(keysSource);
  } catch (e) {
    io.stderr(`cannot load keys: ${(e as Error).message}`);
    return 2;
  }
  const check = verifyReceipt(input, keys, { expectPayloadHash: str(flags['payload-hash']) });
  if (flags.json) io.stdout(JSON.stringify(check));
  else if (check.ok) {
    const p = check.receipt.payload;
    io.stdout(`receipt valid (key ${p.kid})`);
    io.stdout(`action ${p.action_id}: ${p.decision} → ${p.status}; payload ${p.payload_hash}; policy ${p.policy_version}; approvers ${p.approvers.join(', ') || '(none)'}; issued ${p.issued_at}`);
  } else io.stdout(`receipt INVALID (${check.reason}): ${check.detail}`);
  return check.ok ? 0 : 1;
}
