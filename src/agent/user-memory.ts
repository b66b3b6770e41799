import { AppError } from '../core/errors.js';
import type { DataStore, MemoryData } from '../data/data-store.js';

/** One remembered fact about a user: `budget` → `$450,000`. */
export interface Fact {
  readonly key: string;
  readonly value: string;
  /** ISO 8601. */
  readonly updatedAt: string;
}

/** Options of {@link UserMemory}. */
export interface UserMemoryOptions {
  readonly store: DataStore;
  /** Facts kept per user; the oldest goes when a new one would pass it. Default 50. */
  readonly maxFacts?: number;
  /** Longest value, in characters. Default 500. */
  readonly maxValueChars?: number;
  /** Characters of facts rendered into the prompt (newest first). */
  readonly promptMaxChars: number;
  /**
   * True when the user asked to be forgotten at or after `startedAt`: a fact from a message that
   * was running then is not written (see {@link UserMemory.remember}).
   */
  readonly erasedSince?: (userId: string, startedAt: number) => Promise<boolean>;
}

const KEY = /^[a-z0-9_]{1,48}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/** `Monthly Budget` → `monthly_budget`; a {@link AppError} `validation_failed` when nothing usable is left. */
export function normaliseFactKey(raw: string): string {
  const key = raw
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48);
  if (!KEY.test(key)) throw new AppError('validation_failed', 'key: use a short name such as "budget"');
  return key;
}

/** Reads the facts out of a stored memory, ignoring anything malformed. Newest first. */
export function factsOf(data: MemoryData | undefined): Fact[] {
  const raw = data?.facts;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const facts: Fact[] = [];
  for (const [key, entry] of Object.entries(raw)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
    const { value, updated_at: updatedAt } = entry as Record<string, unknown>;
    if (typeof value !== 'string' || typeof updatedAt !== 'string' || !KEY.test(key)) continue;
    facts.push({ key, value, updatedAt });
  }
  return facts.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
}

function toData(facts: readonly Fact[]): MemoryData {
  const out: Record<string, { value: string; updated_at: string }> = {};
  for (const f of facts) out[f.key] = { value: f.value, updated_at: f.updatedAt };
  return { facts: out };
}

/**
 * What the agent remembers about each user, as a bounded set of key/value facts in the
 * {@link DataStore} (`memories/<user>.json`, backed up with the data folder). The user id always
 * comes from the message being answered, never from the model.
 */
export class UserMemory {
  private readonly o: UserMemoryOptions & Required<Pick<UserMemoryOptions, 'maxFacts' | 'maxValueChars'>>;

  constructor(options: UserMemoryOptions) {
    this.o = { maxFacts: 50, maxValueChars: 500, ...options };
    if (!(this.o.maxFacts >= 1)) throw new RangeError('maxFacts must be >= 1');
    if (!(this.o.promptMaxChars >= 1)) throw new RangeError('promptMaxChars must be >= 1');
  }

  /** The user's facts, newest first (empty when nothing is remembered). */
  async facts(userId: string): Promise<Fact[]> {
    return factsOf((await this.o.store.readMemory(userId))?.data);
  }

  /**
   * Stores or replaces one fact. `startedAt` is when the message asking for it began: if the user
   * asked to be forgotten since, nothing is written (checked under the record's lock, which
   * "forget me" takes too, after marking the erasure).
   */
  async remember(
    userId: string,
    rawKey: string,
    rawValue: string,
    startedAt?: number,
  ): Promise<{ key: string; count: number }> {
    const key = normaliseFactKey(rawKey);
    const value = rawValue.replace(CONTROL, ' ').trim().slice(0, this.o.maxValueChars);
    if (value === '') throw new AppError('validation_failed', 'value: must not be empty');
    let count = 0;
    const erasedSince = this.o.erasedSince;
    await this.o.store.updateMemory(userId, async (current) => {
      if (startedAt !== undefined && erasedSince && (await erasedSince(userId, startedAt))) {
        throw new AppError(
          'user_forgotten',
          'The user asked to be forgotten meanwhile: nothing was remembered',
        );
      }
      const others = factsOf(current).filter((f) => f.key !== key);
      const kept = others.slice(0, this.o.maxFacts - 1);
      const facts = [{ key, value, updatedAt: new Date().toISOString() }, ...kept];
      count = facts.length;
      return { ...(current ?? {}), ...toData(facts) };
    });
    return { key, count };
  }

  /** Forgets one fact; false when there was none under that key. */
  async forgetFact(userId: string, rawKey: string): Promise<boolean> {
    const key = normaliseFactKey(rawKey);
    const facts = await this.facts(userId);
    if (!facts.some((f) => f.key === key)) return false;
    await this.o.store.updateMemory(userId, (current) => ({
      ...(current ?? {}),
      ...toData(factsOf(current).filter((f) => f.key !== key)),
    }));
    return true;
  }

  /** Forgets everything about the user ("forget me"); false when nothing was stored. */
  erase(userId: string): Promise<boolean> {
    return this.o.store.deleteMemory(userId);
  }

  /** The facts as prompt lines (`- budget: $450,000`), newest first, within the prompt budget. */
  render(facts: readonly Fact[]): string {
    const lines: string[] = [];
    let size = 0;
    for (const f of facts) {
      const line = `- ${f.key}: ${f.value}`;
      if (size + line.length + 1 > this.o.promptMaxChars) break;
      lines.push(line);
      size += line.length + 1;
    }
    return lines.join('\n');
  }
}
