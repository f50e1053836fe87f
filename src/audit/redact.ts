/**
 * Secrets never enter the evidence: values under keys that look like credentials are replaced before
 * anything is stored or shown. Applied recursively, so nested parameters are covered too.
 */
export const DEFAULT_SECRET_KEY_PATTERN =
  /(pass(word|wd|phrase)?|secret|token|authorization|auth_header|api[_-]?key|private[_-]?key|credential|cookie|session[_-]?id|card[_-]?(number|no)|^pan$|cvv|cvc|ssn)/i;

export const REDACTED = '[REDACTED]';

// Card numbers (13–19 digits, optionally spaced) anywhere in a string value.
const CARD_NUMBER_RE = /\b(?:\d[ -]?){12,18}\d\b/g;

export function redact(value: unknown, keyPattern: RegExp = DEFAULT_SECRET_KEY_PATTERN, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redact(v, keyPattern, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = keyPattern.test(k) ? REDACTED : redact(v, keyPattern, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string') return value.replace(CARD_NUMBER_RE, (m) => (luhnValid(m) ? REDACTED : m));
  return value;
}

function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
