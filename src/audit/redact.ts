/**
 * Secrets never enter the evidence: values under keys that look like credentials are replaced before
 * anything is stored or shown (audit log, Slack cards, /audit replies). Applied recursively, so nested
 * objects and arrays are covered; card numbers (Luhn-valid, 13–19 digits), bearer credentials and the
 * passwords of URLs (`postgres://user:[REDACTED]@host`) are replaced wherever they appear in a string,
 * whatever the key.
 */
export const DEFAULT_SECRET_KEY_PATTERN =
  /(pass(word|wd|phrase)?|secret|token|authorization|auth_header|api[_-]?key|private[_-]?key|credential|cookie|session[_-]?id|card[_-]?(number|no)|^pan$|cvv|cvc|ssn)/i;

export const REDACTED = '[REDACTED]';

// Card numbers (13–19 digits, optionally spaced or dashed) anywhere in a string value.
const CARD_NUMBER_RE = /\b(?:\d[ -]?){12,18}\d\b/g;
// `Bearer <credential>` / `Basic <credential>` inside free text (e.g. a copied header or curl line).
const AUTH_SCHEME_RE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
// The password of a URL's userinfo (`postgres://user:pass@host`, `redis://:pass@host`); the user name stays.
const URL_PASSWORD_RE = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*):[^\s@/?#]*@/gi;

export type RedactionConfig = { extra_keys?: readonly string[] };

let configuredPattern: RegExp = DEFAULT_SECRET_KEY_PATTERN;

/** Builds the key pattern: the defaults plus extra key fragments (case-insensitive, matched anywhere in a key). */
export function secretKeyPattern(config: RedactionConfig = {}): RegExp {
  const extra = (config.extra_keys ?? []).filter((k) => k.length > 0).map(escapeRegExp);
  if (extra.length === 0) return DEFAULT_SECRET_KEY_PATTERN;
  return new RegExp(`${DEFAULT_SECRET_KEY_PATTERN.source}|${extra.join('|')}`, 'i');
}

/**
 * Sets the process-wide key pattern from the config file (`redaction.extra_keys`). Called once at start-up
 * by main.ts: the audit append and every card builder redact with it, so no caller can forget to pass it.
 */
export function configureRedaction(config: RedactionConfig | undefined): void {
  configuredPattern = secretKeyPattern(config ?? {});
}

export function currentSecretKeyPattern(): RegExp {
  return configuredPattern;
}

/**
 * Returns the value with secrets replaced. What holds nothing to replace comes back as it is, not copied
 * (issue #20: the copies were a good part of the intake's garbage); callers never mutate what they get.
 */
export function redact(value: unknown, keyPattern: RegExp = configuredPattern, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = redact(v, keyPattern, depth + 1);
      if (out === null && r !== v) out = value.slice(0, i);
      if (out !== null) out.push(r);
    }
    // A sparse array is copied as before (map keeps its holes; JSON shows them as null either way).
    return out ?? (value.length === Object.keys(value).length ? value : value.map((v) => redact(v, keyPattern, depth + 1)));
  }
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // Only a plain object can be returned as it is: a copy of anything else is a plain object of its own
    // enumerable keys (a Date becomes {}), and an own `__proto__` key is not copied as a key.
    const proto = Object.getPrototypeOf(value);
    const plain = (proto === Object.prototype || proto === null) && !Object.hasOwn(record, '__proto__');
    let out: Record<string, unknown> | null = plain ? null : {};
    const keys = Object.keys(record);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = record[k];
      const r = keyPattern.test(k) ? REDACTED : redact(v, keyPattern, depth + 1);
      if (out === null && r !== v) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = record[keys[j]!];
      }
      if (out !== null) out[k] = r;
    }
    return out ?? value;
  }
  return redactScalar(value);
}

/** A leaf: secrets inside a string (card numbers, auth schemes, URL passwords) or a card number sent as a number. */
export function redactScalar(value: unknown): unknown {
  if (typeof value === 'string') {
    return value
      .replace(CARD_NUMBER_RE, (m) => (luhnValid(m) ? REDACTED : m))
      .replace(AUTH_SCHEME_RE, (_m, scheme: string) => `${scheme} ${REDACTED}`)
      .replace(URL_PASSWORD_RE, (_m, head: string) => `${head}:${REDACTED}@`);
  }
  // A card number sent as a JSON number.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1e12 && luhnValid(String(value))) return REDACTED;
  return value;
}

/**
 * A payment card number: 13–19 digits, a major-network first digit (2–6: Mastercard, Amex, Visa, Discover,
 * JCB, UnionPay, Diners) and a valid Luhn check digit. The first-digit rule keeps epoch timestamps
 * (1…, 13 digits) from being taken for cards.
 */
export function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19 || !/^[2-6]/.test(digits)) return false;
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

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
