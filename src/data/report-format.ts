import type { Report } from './data-store.js';

/**
 * A report file is Markdown with a front matter block whose values are JSON strings, so a title
 * or author can hold any character without breaking the block:
 *
 * ```
 * ---
 * id: "20250101-120000-3-bed-homes-in-austin-1a2b3c4d"
 * title: "3-bed homes in Austin"
 * author: "slack:T1:U2"
 * created_at: "2025-01-01T12:00:00.000Z"
 * ---
 *
 * <body>
 * ```
 */

const FIELDS = ['id', 'title', 'author', 'created_at'] as const;
type Field = (typeof FIELDS)[number];

/** The file content for a report. */
export function renderReport(r: Omit<Report, 'sizeBytes'>): string {
  const values: Record<Field, string> = {
    id: r.id,
    title: r.title,
    author: r.author,
    created_at: r.createdAt,
  };
  const head = FIELDS.map((f) => `${f}: ${JSON.stringify(values[f])}`).join('\n');
  return `---\n${head}\n---\n\n${r.body}`;
}

/** The front matter of a report file (possibly only its first bytes); undefined when it is malformed. */
export function parseReportHead(
  text: string,
): { fields: Record<Field, string>; bodyStart: number } | undefined {
  if (!text.startsWith('---\n')) return undefined;
  const end = text.indexOf('\n---\n', 3);
  if (end === -1) return undefined;
  const fields: Partial<Record<Field, string>> = {};
  for (const line of text.slice(4, end).split('\n')) {
    const colon = line.indexOf(': ');
    if (colon === -1) return undefined;
    const name = line.slice(0, colon) as Field;
    if (!FIELDS.includes(name)) continue;
    try {
      const value: unknown = JSON.parse(line.slice(colon + 2));
      if (typeof value !== 'string') return undefined;
      fields[name] = value;
    } catch {
      return undefined;
    }
  }
  if (!FIELDS.every((f) => typeof fields[f] === 'string')) return undefined;
  let bodyStart = end + 5;
  if (text[bodyStart] === '\n') bodyStart++;
  return { fields: fields as Record<Field, string>, bodyStart };
}
