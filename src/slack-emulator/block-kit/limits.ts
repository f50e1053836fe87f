import limitsJson from '../block-kit-limits.json' with { type: 'json' };

/**
 * Block Kit limits, copied from the shared platform facts (`/work/shared/slack/block-kit-limits.json`)
 * so the product does not depend on that folder at run time.
 */
export const limits = limitsJson;
