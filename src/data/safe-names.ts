import { hash, randomBytes } from 'node:crypto';
import { AppError } from '../core/errors.js';

/**
 * User ids and report titles come from chat users. They never become paths as they are: a
 * user id maps to `<readable slug>-<sha256 prefix>` (letters, digits, `_` and `-` only, bounded
 * length, no dots, no separators), a report gets a generated id of the same alphabet.
 */

/** Longest accepted user id, in UTF-16 code units. */
export const MAX_USER_ID_LENGTH = 256;
/** Longest accepted report title, in UTF-16 code units. */
export const MAX_TITLE_LENGTH = 200;

// C0 and C1 control characters (newlines included), and unpaired UTF-16 surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const REPORT_ID = /^\d{8}-\d{6}-[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{8}$/;
const MAX_SLUG = 40;

/** True when `value` is a string of 1..max printable characters (no control characters, well formed). */
export function isPrintable(value: unknown, max: number): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= max &&
    !CONTROL.test(value) &&
    !LONE_SURROGATE.test(value) &&
    value.trim().length > 0
  );
}

/** Throws `data_invalid` unless `userId` is 1..256 printable characters. */
export function assertUserId(userId: unknown): asserts userId is string {
  if (!isPrintable(userId, MAX_USER_ID_LENGTH)) {
    throw new AppError(
      'data_invalid',
      `user id must be 1-${MAX_USER_ID_LENGTH} printable characters (no control characters)`,
    );
  }
}

/** Throws `data_invalid` unless `title` is 1..200 printable characters on one line. */
export function assertTitle(title: unknown): asserts title is string {
  if (!isPrintable(title, MAX_TITLE_LENGTH)) {
    throw new AppError(
      'data_invalid',
      `report title must be 1-${MAX_TITLE_LENGTH} printable characters on one line`,
    );
  }
}

function slug(text: string, fallback: string, pattern: RegExp, lower: boolean): string {
  const ascii = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const cased = lower ? ascii.toLowerCase() : ascii;
  const s = cased
    .replace(pattern, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, MAX_SLUG)
    .replace(/-$/, '');
  return s || fallback;
}

/**
 * The file name (without extension) holding a user's memory: a readable slug of the id plus
 * 24 hex digits of its SHA-256, so distinct ids never share a file. At most 65 characters.
 */
export function userFileName(userId: string): string {
  assertUserId(userId);
  const digest = hash('sha256', userId, 'hex').slice(0, 24);
  return `${slug(userId, 'user', /[^A-Za-z0-9_]+/g, false)}-${digest}`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** UTC `YYYYMMDD-HHMMSS` (or with another separator) of a date. */
export function utcStamp(date: Date, separator = '-'): string {
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${separator}` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

/** A new report id: `YYYYMMDD-HHMMSS-<title slug>-<8 random hex>`, sortable by creation time. */
export function newReportId(
  title: string,
  createdAt: Date,
  random: string = randomBytes(4).toString('hex'),
): string {
  assertTitle(title);
  return `${utcStamp(createdAt)}-${slug(title, 'report', /[^a-z0-9]+/g, true)}-${random}`;
}

/** True for ids {@link newReportId} makes; anything else (paths, `..`, separators) is not an id. */
export function isReportId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= 80 && REPORT_ID.test(id);
}
