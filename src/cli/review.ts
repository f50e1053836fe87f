import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFileConfig } from '../config/file-config';
import { loadPolicyBundle, formatPolicyError, type PolicyBundle } from '../policy';
import { parseMoment } from '../audit/time-range';
import { agentFacts } from '../review/queries';
import { buildReview } from '../review/build';
import { reviewCsv, reviewMarkdown } from '../review/render';
import { buildMatrix, matrixCsv } from '../review/matrix';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const REVIEW_USAGE = `usage:
  countersign review [--since 30d|ISO] [--until ISO] [--policies DIR] [--rotate-after DAYS] [--out DIR] [--json]
      the periodic access and policy review: Markdown on stdout, or review.md + review-*.csv in DIR
  countersign matrix [--policies DIR] [--config FILE] [--out FILE]
      the scope-and-approval matrix as CSV`;

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);

async function bundleFrom(dir: string, io: CliIo): Promise<PolicyBundle | null> {
  const loaded = await loadPolicyBundle(dir);
  if (loaded.ok) return loaded.bundle;
  io.stderr(`policy bundle in ${dir} refused:\n${loaded.errors.map(formatPolicyError).join('\n')}`);
  return null;
}

/** `countersign review …`: exit 0 when written, 1 when the policy bundle does not load, 2 on usage. */
export async function runReviewCommand(argv: string[], io: CliIo): Promise<number> {
  const { flags } = parseFlags(argv);
  const until = str(flags.until) ? parseMoment(str(flags.until)!) : new Date();
  const since = parseMoment(str(flags.since) ?? '30d', until ?? new Date());
  const rotateAfter = Number(str(flags['rotate-after']) ?? 90);
  if (!since || !until || since >= until || !Number.isInteger(rotateAfter) || rotateAfter <= 0) {
    io.stderr(`--since/--until take an ISO time or an age (30d), since before until; --rotate-after is a number of days\n${REVIEW_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    const bundle = await bundleFrom(str(flags.policies) ?? env.COUNTERSIGN_POLICIES, io);
    if (!bundle) return 1;
    const review = await buildReview(handle.db, bundle, { since, until }, { rotateAfterDays: rotateAfter });
    const out = str(flags.out);
    if (out) {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'review.md'), reviewMarkdown(review));
      writeFileSync(join(out, 'review.json'), `${JSON.stringify(review, null, 2)}\n`);
      for (const [name, text] of Object.entries(reviewCsv(review))) writeFileSync(join(out, name), text);
      io.stdout(`review written to ${out}: review.md, review.json, ${Object.keys(reviewCsv(review)).join(', ')}`);
    } else io.stdout(flags.json ? JSON.stringify(review) : reviewMarkdown(review));
    return 0;
  }, { max: 2, applicationName: 'countersign-review' });
}

/** `countersign matrix …`: the scope-and-approval matrix from the policy bundle, countersign.yaml and the agents. */
export async function runMatrixCommand(argv: string[], io: CliIo): Promise<number> {
  const { flags } = parseFlags(argv);
  return withOperatorDb(io, async (handle, env) => {
    const bundle = await bundleFrom(str(flags.policies) ?? env.COUNTERSIGN_POLICIES, io);
    if (!bundle) return 1;
    // Through the admin channel, the configuration the server runs with (a sandbox has no countersign.yaml).
    const config = str(flags.config) ? loadFileConfig(str(flags.config)!) : (io.context?.config ?? loadFileConfig(env.COUNTERSIGN_CONFIG));
    const agents = await agentFacts(handle.db);
    const csv = matrixCsv(buildMatrix(bundle, config, agents, env.COUNTERSIGN_RATE_LIMIT_PER_MINUTE));
    const out = str(flags.out);
    if (out) {
      writeFileSync(out, csv);
      io.stderr(`matrix written to ${out}`);
    } else io.stdout(csv);
    return 0;
  });
}
