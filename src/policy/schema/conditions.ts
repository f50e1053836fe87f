import { z } from 'zod';
import { PARAMETER_NAME } from '../parameter-path.ts';
import { coded } from './issue-codes.ts';

const parameter = z
  .string()
  .regex(PARAMETER_NAME, 'parameter must be a name like "amount" or "target.count"');

/**
 * A cap on how many things an action touches: a count stated as a fact (`parameter: plan.target_count`), or
 * counted from the payload itself (`count: params.recipients`: an array's length, an object's keys).
 */
export const blastRadiusConditionSchema = z
  .strictObject({
    type: z.literal('blast_radius_max'),
    parameter: parameter.optional(),
    count: parameter.optional(),
    threshold: z.number(),
  })
  .superRefine((condition, ctx) => {
    if ((condition.parameter === undefined) === (condition.count === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a blast_radius_max condition takes exactly one of parameter (a stated count) or count (a list or map to count)',
        params: coded(condition.parameter === undefined ? 'missing_key' : 'invalid_value'),
      });
    }
  });

const comparisons = ['gt', 'gte', 'lt', 'lte'] as const;
export type Comparison = (typeof comparisons)[number];

export const thresholdConditionSchema = z
  .strictObject({
    type: z.literal('threshold'),
    parameter,
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
  })
  .superRefine((condition, ctx) => {
    const given = comparisons.filter((op) => condition[op] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a threshold condition takes exactly one of gt, gte, lt, lte (got ${given.length === 0 ? 'none' : given.join(', ')}); write a range as two conditions`,
        params: coded(given.length === 0 ? 'missing_key' : 'invalid_value'),
      });
    }
  });

const memberValue = z.union([z.string(), z.number(), z.boolean()]);

export const inConditionSchema = z.strictObject({
  type: z.literal('in'),
  parameter,
  values: z.array(memberValue).min(1, 'values must list at least one value'),
});

export const notInConditionSchema = z.strictObject({
  type: z.literal('not_in'),
  parameter,
  values: z.array(memberValue).min(1, 'values must list at least one value'),
});

export const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type DayName = (typeof dayNames)[number];

const clock = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'times are "HH:MM", 24-hour, e.g. "09:00" or "17:30"');

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const timeWindowConditionSchema = z
  .strictObject({
    type: z.literal('time_window'),
    timezone: z.string().refine(isTimeZone, {
      message: 'unknown time zone: use an IANA name such as "Europe/Berlin" or "UTC"',
      params: coded('invalid_timezone'),
    }),
    days: z.array(z.enum(dayNames)).min(1).optional(),
    between: z.tuple([clock, clock]).optional(),
    outside: z.boolean().optional(),
  })
  .superRefine((condition, ctx) => {
    if (!condition.days && !condition.between) {
      ctx.addIssue({ code: 'custom', message: 'a time_window needs days, between, or both', params: coded('missing_key') });
    }
    if (condition.between && condition.between[0] === condition.between[1]) {
      ctx.addIssue({
        code: 'custom',
        path: ['between'],
        message: 'between needs two different times (a window that starts where it ends is ambiguous)',
        params: coded('invalid_value'),
      });
    }
  });

/** Holds when the list at `parameter` (agent.tags, requester.groups) includes any of `values`. */
export const includesAnyConditionSchema = z.strictObject({
  type: z.literal('includes_any'),
  parameter,
  values: z.array(z.string()).min(1, 'values must list at least one value'),
});

export const conditionTypes = ['blast_radius_max', 'threshold', 'in', 'not_in', 'includes_any', 'time_window'] as const;

export const conditionSchema = z.discriminatedUnion('type', [
  blastRadiusConditionSchema,
  thresholdConditionSchema,
  inConditionSchema,
  notInConditionSchema,
  includesAnyConditionSchema,
  timeWindowConditionSchema,
]);
export type Condition = z.infer<typeof conditionSchema>;
export type BlastRadiusCondition = z.infer<typeof blastRadiusConditionSchema>;
export type ThresholdCondition = z.infer<typeof thresholdConditionSchema>;
export type InCondition = z.infer<typeof inConditionSchema>;
export type NotInCondition = z.infer<typeof notInConditionSchema>;
export type IncludesAnyCondition = z.infer<typeof includesAnyConditionSchema>;
export type TimeWindowCondition = z.infer<typeof timeWindowConditionSchema>;
