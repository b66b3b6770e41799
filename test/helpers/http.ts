/** A parsed JSON body, loosely typed: tests assert on its shape. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
export type Json = any;

/** Reads a fetch response body as JSON. */
export async function jsonOf(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}
