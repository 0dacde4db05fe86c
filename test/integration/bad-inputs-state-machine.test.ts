import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { localStackParts, synthesizeTemplate, type LocalStackParts } from '../../local/template.js';
import { startExecution, taskOverrides, type LocalHandler } from '../../local/state-machine-runner.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { LOCAL_HANDLERS } from '../../local/handlers.js';
import { logger } from '../../adapters/logger.js';
import { BAD_INPUTS } from '../support/bad-inputs.js';
import { PAYLOAD_LIMIT_BYTES, jsonBytes } from '../../local/service-limits.js';

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
  // An execution input is a JSON object (StartExecution refuses anything else, and anything over 256 KiB:
  // such an input never reaches "Validate input" in AWS, so the local runner fails it before any task).
  const objects = BAD_INPUTS.filter(([, c]) => c.value !== null && typeof c.value === 'object' && !Array.isArray(c.value) && c.$generate?.depth === undefined);
  const withinLimit = objects.filter(([, c]) => jsonBytes(c.value) <= PAYLOAD_LIMIT_BYTES);
  const overLimit = objects.filter(([, c]) => jsonBytes(c.value) > PAYLOAD_LIMIT_BYTES);

  it('runs most of the corpus', () => {
    expect(objects.length).toBeGreaterThanOrEqual(55);
    expect(overLimit.map(([name]) => name)).toEqual(['input-over-256-kib']);
  });

  it.each(overLimit)('%s fails States.DataLimitExceeded before any task runs', async (name, c) => {
    let ran = 0;
    const handlers = new Map<string, LocalHandler>(Object.keys(parts.handlers).map((id) => [id, async () => { ran += 1; return {}; }]));
    const tokens = new LocalTaskTokens();
    const execution = startExecution({ definition: parts.definition, overrides: taskOverrides(parts.definition, handlers, tokens), input: c.value, executionName: `bad-${name}`.slice(0, 80), tokens });
    await expect(execution.result).resolves.toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(ran).toBe(0);
  });

  it.each(withinLimit)('%s fails "Validate input" and touches nothing', async (name, c) => {
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
