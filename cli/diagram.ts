import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import { toMermaid, toSvg, type AslGraph } from './asl-diagram.js';

/** The deployed definition, synthesized in-process from the stack (never a hand-drawn copy). */
export async function synthesizedDefinition(): Promise<AslGraph> {
  const { localStackParts, synthesizeTemplate } = await import('../local/template.js');
  await mkdir('.tmp', { recursive: true });
  const parts = localStackParts(await synthesizeTemplate({}, '.tmp'), () => ({}));
  return parts.definition as unknown as AslGraph;
}

export function diagramCommand(): Command {
  return new Command('diagram')
    .description("Render the synthesized state machine as Mermaid or SVG (what the console's graph view shows, from the definition itself).")
    .addOption(new Option('--format <format>', 'mermaid or svg').choices(['mermaid', 'svg']).default('mermaid'))
    .option('--out <file>', 'write to this file instead of stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  fleet-upgrade diagram --format svg --out docs/diagram.svg\n  fleet-upgrade diagram --format mermaid --out docs/diagram.mmd',
    )
    .action(async (flags: { format: 'mermaid' | 'svg'; out?: string }) => {
      const definition = await synthesizedDefinition();
      const text = flags.format === 'svg' ? toSvg(definition) : toMermaid(definition);
      if (flags.out === undefined) {
        process.stdout.write(text);
        return;
      }
      await mkdir(dirname(flags.out), { recursive: true });
      await writeFile(flags.out, text);
      process.stderr.write(`wrote ${flags.out}\n`);
    });
}
