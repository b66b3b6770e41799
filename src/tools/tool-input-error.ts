import { AppError } from '../core/errors.js';

/**
 * A tool was given input it cannot use (a negative price, an unknown state, a rate of NaN).
 * Code `validation_failed`; the message names the field and is meant to be shown to the model
 * (or the user) so the call can be corrected. Never thrown for upstream failures.
 */
export class ToolInputError extends AppError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super('validation_failed', `${field}: ${problem}`, { details: { field } });
    this.name = 'ToolInputError';
    this.field = field;
  }
}
