import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { localStackParts, synthesizeTemplate } from '../../local/template.js';
import { generatedDocs } from '../../cli/docs.js';
import type { AslGraph } from '../../cli/asl-diagram.js';

let template: Template;
let definition: AslGraph;
const names: string[] = [];

beforeAll(async () => {
  const synthesized = await synthesizeTemplate({}, '.tmp');
  template = Template.fromJSON(synthesized);
  definition = localStackParts(synthesized, () => ({})).definition as unknown as AslGraph;
  const walk = (graph: AslGraph) => {
    for (const [name, state] of Object.entries(graph.States)) {
      names.push(name);
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) walk(inner);
    }
  };
  walk(definition);
}, 60_000);

/** A state name an operator reads: a capitalised phrase of words, not a code identifier. */
function identifierLike(name: string): string | null {
  if (!/^[A-Z]/.test(name)) return 'does not start with a capital letter';
  if (/[a-z][A-Z]/.test(name)) return 'is camelCase';
  if (/[_$#./\\{}[\]]|:(?! )/.test(name)) return 'contains identifier characters';
  if (/\d/.test(name)) return 'contains digits (a generated id?)';
  // Words separated by spaces, with prose punctuation (`Not started: the run is stopping`).
  if (!/^[A-Za-z][A-Za-z-]*([:,]? [A-Za-z][A-Za-z-]*)*\??$/.test(name)) return 'is not words separated by spaces';
  return null;
}

describe('the console experience', () => {
  it('names every state in plain words, never an identifier-like string', () => {
    expect(names.length).toBeGreaterThan(20);
    expect(names.map((n) => [n, identifierLike(n)]).filter(([, why]) => why !== null)).toEqual([]);
    expect(identifierLike('RunStepTask')).not.toBeNull();
    expect(identifierLike('run-step')).not.toBeNull();
    expect(identifierLike('Task3F2A')).not.toBeNull();
    expect(identifierLike('Step:Upgrade')).not.toBeNull();
    expect(identifierLike('Not started: the run is stopping')).toBeNull();
  });

  // FAILED too: a failure no Catch takes (States.DataLimitExceeded; States.ALL does not match it,
  // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html) skips the failure path.
  it('cleans up after StopExecution, timeouts and uncaught failures: a rule on ABORTED/TIMED_OUT/FAILED invokes run-stopped, which starts the cleanup state machine', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [Match.anyValue()] },
      },
    });
    template.hasResource('AWS::Lambda::Function', {
      Metadata: { 'fleet-upgrade:handler': 'run-stopped' },
      Properties: Match.objectLike({
        Environment: { Variables: Match.objectLike({ CLEANUP_STATE_MACHINE_ARN: { Ref: Match.stringLikeRegexp('^StoppedRunCleanupStateMachine') } }) },
      }),
    });
    template.hasResource('AWS::Lambda::Function', { Metadata: { 'fleet-upgrade:handler': 'clean-up-run' }, Properties: Match.objectLike({ Timeout: 900 }) });
    template.hasResource('AWS::StepFunctions::StateMachine', { Metadata: { 'fleet-upgrade:state-machine': 'cleanup' } });
  });

  it('keeps the committed docs (input reference, JSON Schema, diagrams) generated from the code (`npm run docs`)', async () => {
    for (const [path, text] of Object.entries(await generatedDocs(definition))) {
      expect(await readFile(path, 'utf8'), `${path} is out of date: run npm run docs`).toBe(text);
    }
  });
});
