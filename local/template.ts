import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InputValidationError } from '../core/errors.js';
import { join, relative } from 'node:path';
import type { FleetUpgradeStackProps } from '../lib/fleet-upgrade-stack.js';
import { HANDLER_METADATA_KEY, STATE_MACHINE_METADATA_KEY } from '../lib/metadata-keys.js';
// Account and region of the placeholder ARNs the synthesized definition is resolved with.
import { LOCAL_ACCOUNT, LOCAL_CLEANUP_STATE_MACHINE_NAME, LOCAL_REGION, localArns } from './state-machine-runner.js';
import { functionTimeouts } from './lambda-timeout.js';
import { eventRules, type EventRule } from './eventbridge.js';
import type { CfnTemplate } from './cfn-template.js';

export type { CfnTemplate };

/**
 * A key for templates synthesized here (a cached one carries the key of the process that wrote it): a rehearsal
 * pins the key it signs its packages with in the document anyway (`withPackageKey`), so this one only has to be well-formed.
 */
const LOCAL_PACKAGE_KEY = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** Synthesizes the real stack in-process (no bundling: the rehearsal runs the handlers from source). */
export async function synthesizeTemplate(props: Partial<FleetUpgradeStackProps> = {}, outdirBase = '.tmp'): Promise<CfnTemplate> {
  // A synth takes seconds and depends only on the props and the sources (a runbookPath's files may change:
  // never cached); later callers get their own copy of the same template.
  const key = props.runbookPath === undefined ? JSON.stringify(props) : undefined;
  const cached = key === undefined ? undefined : synthesized.get(key);
  if (cached !== undefined) return structuredClone(cached);
  const onDisk = key === undefined ? undefined : diskCachePath(key);
  let template = onDisk === undefined ? undefined : readCached(onDisk);
  if (template === undefined) {
    template = await synthesizeNow(props, outdirBase);
    if (onDisk !== undefined) writeCached(onDisk, template);
  }
  if (key !== undefined) synthesized.set(key, structuredClone(template));
  return template;
}

async function synthesizeNow(props: Partial<FleetUpgradeStackProps>, outdirBase: string): Promise<CfnTemplate> {
  // Loaded only when a synth is needed: the CDK takes about a second to import.
  const { App } = await import('aws-cdk-lib');
  const { FleetUpgradeStack } = await import('../lib/fleet-upgrade-stack.js');
  const app = new App({
    outdir: mkdtempSync(join(outdirBase, 'cdk-')),
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new FleetUpgradeStack(app, 'FleetUpgradeStack', {
    artifactBaseUrl: 'http://127.0.0.1/artifacts',
    packageSigningPublicKey: LOCAL_PACKAGE_KEY,
    ...props,
  });
  return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
}

const PROJECT_ROOT = join(import.meta.dirname, '..');
/**
 * Everything a template is built from: the stack, what it reads from core and the handlers, the runbooks, this
 * file's defaults, and the CDK's version as installed (lib imports nothing of local/: test/unit/import-graph.test.ts).
 */
const TEMPLATE_SOURCES = ['lib', 'core', 'lambdas', 'adapters', 'runbooks', 'local/template.ts', 'package-lock.json', 'node_modules/aws-cdk-lib/package.json'];
/** In the checkout, owned by whoever runs it: a template from a shared folder could be planted by someone else. */
const TEMPLATE_CACHE_DIR = join(PROJECT_ROOT, '.tmp', 'template-cache');

/**
 * Every process that rehearses synthesizes the same template (the tests start dozens): it is kept in
 * `.tmp/template-cache`, named by a hash of the props and of every source file, so any change misses.
 */
function diskCachePath(key: string): string {
  const hash = createHash('sha256').update(key);
  const add = (path: string) => {
    const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = join(path, e.name);
      if (e.isDirectory()) add(full);
      else hash.update(relative(PROJECT_ROOT, full)).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  for (const source of TEMPLATE_SOURCES) {
    const full = join(PROJECT_ROOT, source);
    // Absent (an install that hoists aws-cdk-lib elsewhere): its absence is part of the key, and package-lock.json holds the version.
    if (!existsSync(full)) hash.update(source).update('\0absent\0');
    else if (source.endsWith('.ts') || source.endsWith('.json')) hash.update(source).update('\0').update(readFileSync(full)).update('\0');
    else add(full);
  }
  return join(TEMPLATE_CACHE_DIR, `${hash.digest('hex')}.json`);
}

function readCached(path: string): CfnTemplate | undefined {
  try {
    const template = JSON.parse(readFileSync(path, 'utf8')) as Partial<CfnTemplate>;
    return typeof template.Resources === 'object' && template.Resources !== null ? (template as CfnTemplate) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Written whole, then renamed: a process reading it at the same moment sees no file or the whole one. The cache
 * only saves time, so a folder that cannot be written is no error.
 */
function writeCached(path: string, template: CfnTemplate): void {
  const partial = `${path}.${randomUUID()}.partial`;
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(partial, JSON.stringify(template));
    renameSync(partial, path);
  } catch {
    rmSync(partial, { force: true });
  }
}

const synthesized = new Map<string, CfnTemplate>();

/**
 * A template `cdk synth` wrote (the operator's own context and runbook), checked before anything runs: it
 * must hold what the rehearsal executes — the upgrade and cleanup state machines, one SSM document, one
 * table, and the functions with their handler names.
 */
export async function readTemplateFile(path: string): Promise<CfnTemplate> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputValidationError(`template: expected a synthesized CloudFormation template (JSON) at ${path}: ${(error as Error).message}`, 'template');
  }
  const resources = (parsed as { Resources?: unknown } | null)?.Resources;
  if (resources === null || typeof resources !== 'object')
    throw new InputValidationError(
      `template: ${path} has no Resources; expected what \`cdk synth\` writes (cdk.out/FleetUpgradeStack.template.json)`,
      'template',
    );
  const template = parsed as CfnTemplate;
  const count = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
  for (const [type, what] of [
    ['AWS::SSM::Document', 'the SSM document'],
    ['AWS::DynamoDB::Table', 'the table'],
  ] as const) {
    if (count(type) !== 1) throw new InputValidationError(`template: ${path} must hold exactly one ${type} (${what}); it holds ${count(type)}`, 'template');
  }
  for (const role of ['upgrade', 'cleanup']) {
    const found = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Metadata?.[STATE_MACHINE_METADATA_KEY] === role,
    ).length;
    if (found !== 1)
      throw new InputValidationError(
        `template: ${path} must hold exactly one AWS::StepFunctions::StateMachine with ${STATE_MACHINE_METADATA_KEY} "${role}"; it holds ${found}. Synthesize it from this project's stack`,
        'template',
      );
  }
  if (!Object.values(template.Resources).some((r) => r.Type === 'AWS::Lambda::Function' && typeof r.Metadata?.[HANDLER_METADATA_KEY] === 'string')) {
    throw new InputValidationError(
      `template: ${path} has no function with ${HANDLER_METADATA_KEY} metadata; synthesize it from this project's stack`,
      'template',
    );
  }
  return template;
}

/** Resolves the intrinsic functions CDK leaves in strings: Fn::Join, Fn::GetAtt (ARNs), Ref. */
export function resolveIntrinsics(value: unknown, refs: Record<string, string> = {}): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, refs));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolveIntrinsics(p, refs))).join(sep);
  }
  if ('Fn::GetAtt' in obj) {
    const [id, attr] = obj['Fn::GetAtt'] as [string, string];
    if (attr === 'Arn') return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}`;
    return `${id}.${attr}`;
  }
  if ('Ref' in obj) {
    const name = String(obj.Ref);
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': LOCAL_REGION,
      'AWS::AccountId': LOCAL_ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[name] ?? refs[name] ?? name;
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveIntrinsics(v, refs)]));
}

/** The parts of the synthesized stack that the local runtime executes. */
export interface LocalStackParts {
  /** Plain ASL of the upgrade state machine, with placeholder function ARNs. */
  definition: Record<string, unknown>;
  /** The cleanup state machine (started by run-stopped): its logical id and plain ASL. */
  cleanup: { logicalId: string; definition: Record<string, unknown> };
  /** The upgrade state machine's logical id. */
  stateMachineLogicalId: string;
  /** Function logical id → handler module name (folder under lambdas/). */
  handlers: Record<string, string>;
  /** The functions' environment, with Refs resolved through `refs`. */
  environment: Record<string, string>;
  /** The SSM Command document's content. */
  document: Record<string, unknown>;
  documentLogicalId: string;
  table: { logicalId: string; properties: Record<string, unknown> };
  /** Function logical id → its Timeout (seconds): past it an invocation ends as Sandbox.Timedout. */
  timeouts: Record<string, number>;
  /** The EventBridge rules: which events reach which functions. */
  rules: EventRule[];
}

/** The state machine whose `fleet-upgrade:state-machine` metadata says `role`. */
function machine(template: CfnTemplate, role: 'upgrade' | 'cleanup'): [string, Record<string, unknown>] {
  const found = Object.entries(template.Resources).filter(
    ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Metadata?.[STATE_MACHINE_METADATA_KEY] === role,
  );
  if (found.length !== 1 || found[0] === undefined)
    throw new Error(`expected exactly one ${role} state machine (${STATE_MACHINE_METADATA_KEY}) in the template, found ${found.length}`);
  return [found[0][0], found[0][1].Properties ?? {}];
}

function only(template: CfnTemplate, type: string): [string, Record<string, unknown>] {
  const found = Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected exactly one ${type} in the template, found ${found.length}`);
  return [found[0][0], found[0][1].Properties ?? {}];
}

/** Takes what the rehearsal needs out of the synthesized template (never a hand copy). */
export function localStackParts(template: CfnTemplate, refs: (logicalIds: { table: string; document: string }) => Record<string, string>): LocalStackParts {
  const [smId, sm] = machine(template, 'upgrade');
  const [cleanupId, cleanupMachine] = machine(template, 'cleanup');
  const [tableId, table] = only(template, 'AWS::DynamoDB::Table');
  const [docId, doc] = only(template, 'AWS::SSM::Document');
  // The state machine's Ref is its ARN (the stop rule's pattern names it).
  const resolvedRefs = {
    [smId]: localArns().stateMachine,
    [cleanupId]: localArns(LOCAL_CLEANUP_STATE_MACHINE_NAME).stateMachine,
    ...refs({ table: tableId, document: docId }),
  };
  const handlers: Record<string, string> = {};
  let environment: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = resource.Metadata?.[HANDLER_METADATA_KEY];
    if (typeof name !== 'string') continue;
    handlers[id] = name;
    const vars = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    environment = { ...environment, ...(resolveIntrinsics(vars, resolvedRefs) as Record<string, string>) };
  }
  const definitionOf = (id: string, properties: Record<string, unknown>) => {
    const definitionString = resolveIntrinsics(properties.DefinitionString, resolvedRefs);
    if (typeof definitionString !== 'string') throw new Error(`state machine ${id} has no definition string`);
    return JSON.parse(definitionString) as Record<string, unknown>;
  };
  return {
    definition: definitionOf(smId, sm),
    cleanup: { logicalId: cleanupId, definition: definitionOf(cleanupId, cleanupMachine) },
    stateMachineLogicalId: smId,
    handlers,
    environment,
    document: doc.Content as Record<string, unknown>,
    documentLogicalId: docId,
    table: { logicalId: tableId, properties: table },
    timeouts: functionTimeouts(template),
    rules: eventRules(resolveIntrinsics(template.Resources, resolvedRefs) as CfnTemplate['Resources']),
  };
}
