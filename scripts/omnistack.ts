#!/usr/bin/env bun
/**
 * The `omnistack` command (package.json `bin`): `npx omnistack <command> ...`, or
 * `npm run create -- ...` from a clone. Each command is one entry of COMMANDS, loaded only when
 * it runs; its `run` gets the arguments after the command's name and returns the exit code.
 */
export interface Command {
  summary: string
  run(args: string[]): Promise<number>
}

export const COMMANDS: Record<string, Command> = {
  create: {
    summary: 'a new app from a starter and the chosen plugins (omnistack create --help)',
    run: async (args) => (await import('./create.ts')).create(args),
  },
  doctor: {
    summary: 'check the configuration a starter would start with: pass / warn / fail, each with its fix',
    run: async (args) => (await import('./doctor.ts')).doctorCommand(args),
  },
}

function usage() {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length))
  return [
    'usage: omnistack <command> [arguments]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n')
}

/** Runs the command named first in `argv`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    ;(name ? console.log : console.error)(usage())
    return name ? 0 : 2
  }
  const command = COMMANDS[name]
  if (!command) {
    console.error(`Unknown command "${name}".\n${usage()}`)
    return 2
  }
  return command.run(args)
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)))
