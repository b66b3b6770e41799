import type { z } from 'zod';
import { ToolInputError } from './tool-input-error.js';

/**
 * Validates tool input against a zod schema; the first problem becomes a {@link ToolInputError}
 * naming the field (`propertyTypes.0: Invalid option ...`), for the model to correct its call.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'input';
  throw new ToolInputError(field, issue?.message ?? 'is not valid');
}
