export * from './agents';
export * from './agent-tokens';
export * from './admin-credentials';
export * from './actions';
export * from './approvals';
export * from './commit-outbox';
export * from './audit-events';
export * from './policy-versions';
