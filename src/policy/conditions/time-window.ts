import { dayNames, type DayName, type TimeWindowCondition } from '../schema/conditions.ts';
import type { EvalScope } from '../scope.ts';
import type { CompiledCondition, ConditionStatus } from './compiled-condition.ts';

type LocalTime = { day: number; minute: number; text: string };

function minutesOf(clock: string): number {
  const [h, m] = clock.split(':');
  return Number(h) * 60 + Number(m);
}

/**
 * A weekly window in a named time zone, read with Intl so DST is the platform's job.
 * A window whose end is before its start runs past midnight and belongs to the day it starts.
 */
export function compileTimeWindow(condition: TimeWindowCondition): CompiledCondition {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: condition.timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const days = new Set<number>((condition.days ?? dayNames).map((day: DayName) => dayNames.indexOf(day)));
  const start = condition.between ? minutesOf(condition.between[0]) : 0;
  const end = condition.between ? minutesOf(condition.between[1]) : 24 * 60;
  const outside = condition.outside ?? false;
  const window = `${condition.days ? condition.days.join(',') : 'every day'}${condition.between ? ` ${condition.between[0]}-${condition.between[1]}` : ''} ${condition.timezone}`;

  function localTime(instant: Date): LocalTime | null {
    if (Number.isNaN(instant.getTime())) return null;
    let weekday = '';
    let hour = 0;
    let minute = 0;
    for (const part of format.formatToParts(instant)) {
      if (part.type === 'weekday') weekday = part.value.toLowerCase();
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    const day = dayNames.indexOf(weekday as DayName);
    const text = `${weekday} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
    return { day, minute: hour * 60 + minute, text };
  }

  function isInside({ day, minute }: LocalTime): boolean {
    if (start < end) return days.has(day) && minute >= start && minute < end;
    const previous = (day + 6) % 7;
    return (days.has(day) && minute >= start) || (days.has(previous) && minute < end);
  }

  return {
    type: condition.type,
    parameter: null,
    expects: 'a valid evaluation time',
    test(scope: EvalScope): ConditionStatus {
      const local = localTime(scope.now());
      if (local === null) return 'mistyped';
      return isInside(local) !== outside ? 'holds' : 'fails';
    },
    describe(scope: EvalScope): string {
      const local = localTime(scope.now());
      if (local === null) return `${outside ? 'outside' : 'inside'} ${window}: the evaluation time is not a valid date`;
      const inside = isInside(local);
      return `${outside ? 'outside' : 'inside'} ${window}: local time ${local.text} is ${inside ? 'inside' : 'outside'} the window, ${inside !== outside ? 'true' : 'false'}`;
    },
  };
}
