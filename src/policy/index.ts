// The policy feature's public surface; other features import from here only.
export {
  ACTION_CLASS_PATTERN,
  decisionNameSchema,
  decisionSchema,
  escalationSchema,
  policyInputSchema,
  type ClaimConflict,
  type Decision,
  type DecisionName,
  type Escalation,
  type PolicyInput,
} from './contract.ts';
export { CLAIM_SOURCE, FACT_SOURCES, type FactSource } from './parameter-path.ts';
export { formatPolicyError, policyErrorCodes, type PolicyError, type PolicyErrorCode } from './errors.ts';
export {
  loadPolicyBundleFromFiles,
  type BundleFile,
  type LoadResult,
  type PolicyBundle,
  type PolicySourceFile,
} from './bundle.ts';
export { loadPolicyBundle } from './loader.ts';
export type { ConditionTrace, Explanation, RuleTrace } from './explain.ts';
export {
  PolicyBundleRefusedError,
  PolicyStore,
  type PolicyLoadEvent,
  type PolicyRefusedEvent,
  type PolicyStoreOptions,
} from './store.ts';
export { lintBundle, lintCodes, type LintCode, type LintWarning } from './lint.ts';
export {
  ReplayAccumulator,
  replayDecisions,
  replayDecisionsAsync,
  type RecordedDecision,
  type ReplayChange,
  type ReplayExample,
  type ReplayReport,
} from './replay.ts';
export { runTestFiles, type CaseResult, type TestRun } from './testing/run-cases.ts';
export { runPolicyCommand, type PolicyCliIo } from './cli/index.ts';
