import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { localStackParts, synthesizeTemplate, type LocalStackParts } from '../../local/template.js';
import { startExecution, taskOverrides, type LocalHandler } from '../../local/state-machine-runner.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { LOCAL_HANDLERS } from '../../local/handlers.js';
import { logger } from '../../adapters/logger.js';
import { BAD_INPUTS } from '../support/bad-inputs.js';

/**
 * The whole bad-input corpus through the synthesized state machine: each execution fails in its first
 * state with InputValidationError naming the field, and no other task runs — no lock, no table item,
 * no node is touched.
 */
let parts: LocalStackParts;

beforeAll(() => {
  mkdirSync('.tmp', { recursive: true });
  parts = localStackParts(synthesizeTemplate({}, mkdtempSync(join('.tmp', 'bad-inputs-'))), () => ({}));
  logger.setLogLevel('SILENT');
});

describe('bad input through the state machine', () => {
  // An execution input is a JSON object (StartExecution refuses anything else, and anything over 256 KiB).
  const objects = BAD_INPUTS.filter(([, c]) => c.value !== null && typeof c.value === 'object' && !Array.isArray(c.value) && c.$generate?.depth === undefined);

  it('runs most of the corpus', () => {
    expect(objects.length).toBeGreaterThanOrEqual(55);
  });

  it.each(objects)('%s fails "Validate input" and touches nothing', async (name, c) => {
    const touched: string[] = [];
    const handlers = new Map<string, LocalHandler>();
    for (const [logicalId, handler] of Object.entries(parts.handlers)) {
      handlers.set(logicalId, handler === 'validate-input' ? (LOCAL_HANDLERS['validate-input'] as LocalHandler) : async () => {
        touched.push(handler);
        throw new Error(`${handler} must not run for bad input`);
      });
    }
    const tokens = new LocalTaskTokens();
    const execution = startExecution({ definition: parts.definition, overrides: taskOverrides(parts.definition, handlers, tokens), input: c.value, executionName: `bad-${name}`.slice(0, 80), tokens });
    const outcome = await execution.result;
    expect(outcome.status).toBe('FAILED');
    if (outcome.status !== 'FAILED') return;
    expect(outcome.error).toBe('InputValidationError');
    expect(outcome.cause).toContain(`${c.field}: `);
    expect(touched).toEqual([]);
  });
});
