#!/usr/bin/env node
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generatedDocs } from '../cli/docs.js';
import { synthesizedDefinition } from '../cli/diagram.js';

// Writes the generated docs (input reference, JSON Schema, state machine diagrams) from the code itself.
for (const [path, text] of Object.entries(await generatedDocs(await synthesizedDefinition()))) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
