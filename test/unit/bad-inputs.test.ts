import { describe, expect, it } from 'vitest';
import { parseInput } from '../../core/input-schema.js';
import { InputValidationError } from '../../core/errors.js';
import { BAD_INPUTS } from '../support/bad-inputs.js';

describe('the bad-input corpus', () => {
  it('holds at least 40 cases', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(BAD_INPUTS)('%s is refused naming its field', (_name, c) => {
    let error: unknown;
    try {
      parseInput(c.value);
    } catch (e) {
      error = e;
    }
    expect(error, c.why).toBeInstanceOf(InputValidationError);
    const e = error as InputValidationError;
    expect(e.field, c.why).toBe(c.field);
    expect(e.message.startsWith(`${c.field}: `), e.message).toBe(true);
    // The message stays readable whatever came in.
    expect(e.message.length).toBeLessThan(400);
  });
});
