/**
 * Redaction of personal data before anything is stored: e-mail addresses, payment card numbers
 * (13 to 19 digits that pass the Luhn check) and phone numbers.
 */

/** What replaces each kind of personal data. */
export const REDACTED = { email: '[EMAIL]', card: '[CARD]', phone: '[PHONE]' } as const;

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;
/** Runs of 13 to 19 digits, optionally in groups separated by one space or dash. */
const CARD = /(?<![\p{N}\p{L}])\d(?:[ -]?\d){12,18}(?![\p{N}\p{L}])/gu;
/**
 * Phone-like runs: an optional +, digits in groups separated by spaces, dashes, dots or parentheses.
 * Which of them are phone numbers is decided by {@link isPhone}.
 */
const PHONE = /(?<![\p{N}\p{L}+])(?:\+\s?)?\(?\d[\d\s().-]{5,20}\d(?![\p{N}\p{L}])/gu;

/** Whether a digit string passes the Luhn check (card numbers do; most other long numbers do not). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Whether a phone-like run is written as a phone number: 8 to 15 digits after a `+` (international
 * form), or 10 to 11 digits with a separator in one of the usual national forms: `(555) 123-4567`,
 * `555-123-4567`, `555.123.4567`, `555 123 4567`, or a trunk prefix 0 (`020 7946 0958`,
 * `07700 900123`). Plain digit runs without a `+` (order numbers, amounts), dates and groups of four
 * (`1234-5678-9012`, reference numbers) are not.
 */
export function isPhone(run: string): boolean {
  const digits = run.replace(/\D/g, '');
  const t = run.trim();
  if (t.startsWith('+')) return digits.length >= 8 && digits.length <= 15 && /^\+\s?[\d\s().-]+$/.test(t);
  if (digits.length < 10 || digits.length > 11) return false;
  if (/^\(\d{3}\)\s?\d{3}[\s.-]\d{4}$/.test(t)) return true;
  if (/^1?[\s.-]?\d{3}([\s.-])\d{3}\1\d{4}$/.test(t)) return true;
  return /^0\d{1,4}[\s-]\d{3,4}[\s-]?\d{3,4}$/.test(t);
}

/** Counts of what {@link redact} replaced. */
export interface Redaction {
  readonly text: string;
  readonly emails: number;
  readonly cards: number;
  readonly phones: number;
}

/** Replaces e-mail addresses, card numbers and phone numbers in `text` by {@link REDACTED} markers. */
export function redactDetailed(text: string): Redaction {
  let emails = 0;
  let cards = 0;
  let phones = 0;
  let out = text.replace(EMAIL, () => {
    emails++;
    return REDACTED.email;
  });
  out = out.replace(CARD, (m) => {
    const digits = m.replace(/\D/g, '');
    if (!luhnValid(digits)) return m;
    cards++;
    return REDACTED.card;
  });
  out = out.replace(PHONE, (m) => {
    // The run may end in separators or a parenthesis that belong to the sentence.
    const core = m.replace(/[\s.(-]+$/, '');
    if (!isPhone(core)) return m;
    phones++;
    return REDACTED.phone + m.slice(core.length);
  });
  return { text: out, emails, cards, phones };
}

/** `text` with e-mail addresses, card numbers and phone numbers replaced by `[EMAIL]`, `[CARD]` and `[PHONE]`. */
export function redact(text: string): string {
  return redactDetailed(text).text;
}

/** Slot values, each redacted as {@link redact} redacts a text. */
export function redactSlots(slots: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(slots).map(([k, v]) => [k, redact(v)]));
}
