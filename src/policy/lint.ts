import type { PolicyBundle } from './bundle.ts';
import { DECISION_RANK, type CompiledRule } from './compiled-rule.ts';
import { globCovers, globIntersection } from './glob-relations.ts';
import type { Glob } from './glob.ts';
import { CLAIM_SOURCE, compileParameterPath } from './parameter-path.ts';

export const lintCodes = [
  'shadowed_rule',
  'broad_allow',
  'allow_escalate_overlap',
  'unchecked_template_parameter',
  'escalate_to_same_group',
  'reads_agent_claim',
] as const;
export type LintCode = (typeof lintCodes)[number];

/** A legal bundle that is probably not what its author meant. */
export type LintWarning = { code: LintCode; rule_id: string; file: string; line: number; column: number; message: string };

type Entry = { rule: CompiledRule; glob: Glob };

/**
 * Buckets globs by first segment so pairwise checks stay near-linear on large bundles;
 * globs starting with `*` meet every bucket.
 */
class GlobBuckets {
  private readonly byFirst = new Map<string, Entry[]>();
  private readonly wildFirst: Entry[] = [];

  constructor(rules: readonly CompiledRule[], keep: (rule: CompiledRule) => boolean) {
    for (const rule of rules) {
      if (!keep(rule)) continue;
      for (const glob of rule.globs) {
        const first = glob.segments[0]!;
        if (first === '*') this.wildFirst.push({ rule, glob });
        else {
          const list = this.byFirst.get(first) ?? [];
          list.push({ rule, glob });
          this.byFirst.set(first, list);
        }
      }
    }
  }

  near(glob: Glob): Entry[] {
    const first = glob.segments[0]!;
    if (first === '*') return [...[...this.byFirst.values()].flat(), ...this.wildFirst];
    return [...(this.byFirst.get(first) ?? []), ...this.wildFirst];
  }
}

export function lintBundle(bundle: PolicyBundle): LintWarning[] {
  const rules = bundle.rules;
  const warnings: LintWarning[] = [];
  const unconditioned = new GlobBuckets(rules, (rule) => rule.conditions.length === 0);
  const escalations = new GlobBuckets(rules, (rule) => rule.decision === 'escalate');
  const shadowed = new Set<string>();

  for (const rule of rules) {
    const shadows = shadowersOf(rule, unconditioned);
    if (shadows) {
      shadowed.add(rule.id);
      warnings.push(warn('shadowed_rule', rule, `rule can never decide: every action class it matches is decided first by ${shadows.join(', ')} (no conditions, ${describeOrder(rule, shadows, rules)})`));
    }
  }
  for (const rule of rules) {
    if (rule.decision === 'allow') {
      const broad = rule.globs.filter((glob) => glob.literalCount < glob.segments.length && (glob.literalCount < 2 || glob.segments[0] === '*'));
      if (broad.length > 0) {
        warnings.push(warn('broad_allow', rule, `allow rule with very broad action_class ${broad.map((glob) => `"${glob.text}"`).join(', ')}: name the action classes it should allow`));
      }
      if (!shadowed.has(rule.id)) {
        const seen = new Set<string>();
        for (const glob of rule.globs) {
          for (const other of escalations.near(glob)) {
            if (seen.has(other.rule.id) || partitionsOnSameInput(rule, other.rule)) continue;
            const example = globIntersection(glob, other.glob);
            if (example === null) continue;
            seen.add(other.rule.id);
            warnings.push(warn('allow_escalate_overlap', rule, `allow rule overlaps escalate rule ${other.rule.id} (e.g. ${example}): the escalate rule wins wherever its conditions hold`));
          }
        }
      }
    }
    const checked = new Set(rule.conditions.map((condition) => condition.parameter));
    for (const name of rule.templateNames) {
      if (name === 'action_class' || checked.has(name)) continue;
      warnings.push(warn('unchecked_template_parameter', rule, `reasoning names \${${name}}, which no condition of this rule checks; it renders as [missing] when the agent does not send it`));
    }
    const claims = [...new Set([...rule.conditions.map((c) => c.parameter), ...rule.templateNames].filter(readsClaim))];
    if (claims.length > 0) {
      warnings.push(
        warn(
          'reads_agent_claim',
          rule,
          `reads ${claims.join(', ')}: context is the agent's claim and is never read (a condition on it is always missing, so it fails closed); name a fact: plan.<name> from the executor's prepare step, params.<name>, or count: params.<list>`,
        ),
      );
    }
    if (rule.escalation?.escalate_to && rule.escalation.escalate_to.via === rule.escalation.via) {
      warnings.push(warn('escalate_to_same_group', rule, `escalate_to.via is the same group as via (${rule.escalation.via}): nobody new is asked`));
    }
  }
  return warnings;
}

function readsClaim(name: string | null): name is string {
  return name !== null && compileParameterPath(name).source === CLAIM_SOURCE;
}

/**
 * Rules with conditions on the same parameter (or both on the clock) are taken to split the
 * traffic deliberately, like `amount > 100` escalate / `amount <= 100` allow: not worth a warning.
 */
function partitionsOnSameInput(a: CompiledRule, b: CompiledRule): boolean {
  const inputs = new Set(a.conditions.map(conditionInput));
  return b.conditions.some((condition) => inputs.has(conditionInput(condition)));
}

function conditionInput(condition: { parameter: string | null }): string {
  return condition.parameter ?? '(clock)';
}

/** The rules that decide before `rule` on every class it matches, or null if some class escapes them. */
function shadowersOf(rule: CompiledRule, unconditioned: GlobBuckets): string[] | null {
  const by = new Set<string>();
  for (const glob of rule.globs) {
    const cover = unconditioned
      .near(glob)
      .find((entry) => entry.rule !== rule && entry.rule.priority < rule.priority && globCovers(entry.glob, glob));
    if (!cover) return null;
    by.add(cover.rule.id);
  }
  return [...by];
}

function describeOrder(rule: CompiledRule, shadows: string[], rules: readonly CompiledRule[]): string {
  const first = rules.find((candidate) => candidate.id === shadows[0]);
  if (!first) return 'earlier';
  return DECISION_RANK[first.decision] < DECISION_RANK[rule.decision] ? `${first.decision} beats ${rule.decision}` : 'earlier in bundle order';
}

function warn(code: LintCode, rule: CompiledRule, message: string): LintWarning {
  return { code, rule_id: rule.id, file: rule.file, line: rule.line, column: rule.column, message };
}
