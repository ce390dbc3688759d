import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { CliIO } from './io.js';
import { jsonOption } from './options.js';

/** A command path (`keys create`) with its subcommands and options, for completion scripts. */
interface Node {
  readonly path: string;
  readonly subcommands: readonly string[];
  readonly options: readonly string[];
}

/** Walks the command tree: every command with its subcommand names and long and short options. */
export function commandTree(program: Command): Node[] {
  const nodes: Node[] = [];
  const visit = (command: Command, path: string) => {
    const options = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
    nodes.push({
      path,
      subcommands: command.commands.map((c) => c.name()),
      options: [...options, '--help'],
    });
    for (const sub of command.commands) visit(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  visit(program, '');
  return nodes;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

function bash(nodes: readonly Node[]): string {
  const cases = nodes
    .map((n) => `    ${quote(n.path)}) words=${quote([...n.subcommands, ...n.options].join(' '))} ;;`)
    .join('\n');
  const known = nodes.map((n) => n.path).filter(Boolean);
  return `# keyward completion for bash. Load it with:  source <(npx keyward completion bash)
_keyward_known() {
  case "$1" in
${known.map((p) => `    ${quote(p)}) return 0 ;;`).join('\n')}
  esac
  return 1
}
_keyward() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w words=""
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    if _keyward_known "\${path:+$path }$w"; then path="\${path:+$path }$w"; fi
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _keyward keyward
`;
}

function zsh(nodes: readonly Node[]): string {
  return `#compdef keyward
# keyward completion for zsh. Load it with:  source <(npx keyward completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(nodes).split('\n').slice(1).join('\n')}`;
}

function fish(nodes: readonly Node[]): string {
  const lines = ['# keyward completion for fish. Load it with:  npx keyward completion fish | source'];
  for (const n of nodes) {
    // The words seen so far must be this path exactly: fish's helper checks the subcommands given.
    const parts = n.path === '' ? [] : n.path.split(' ');
    const condition =
      parts.length === 0 ? '__fish_use_subcommand' : `__keyward_path ${parts.map(quote).join(' ')}`;
    for (const sub of n.subcommands)
      lines.push(`complete -c keyward -f -n ${quote(condition)} -a ${quote(sub)}`);
    for (const option of n.options) {
      const flag = option.startsWith('--') ? `-l ${option.slice(2)}` : `-s ${option.slice(1)}`;
      lines.push(`complete -c keyward -n ${quote(condition)} ${flag}`);
    }
  }
  return `function __keyward_path
    set -l words (commandline -opc)
    set -e words[1]
    set -l seen
    for w in $words
        string match -q -- '-*' $w; and continue
        set seen $seen $w
    end
    test (count $seen) -ge (count $argv); or return 1
    test "$seen[1..(count $argv)]" = "$argv"
end
${lines.join('\n')}
`;
}

const SHELLS = { bash, zsh, fish } as const;

/** `keyward completion bash|zsh|fish`: prints the completion script for that shell. */
export function registerCompletion(program: Command, io: CliIO): void {
  program
    .command('completion')
    .description(
      'print shell completion: source <(npx keyward completion bash), the same with zsh, or npx keyward completion fish | source',
    )
    .argument('<shell>', 'bash, zsh or fish', (value: string) => {
      if (!(value in SHELLS)) throw new InvalidArgumentError('use bash, zsh or fish');
      return value as keyof typeof SHELLS;
    })
    .addOption(jsonOption())
    .action((shell: keyof typeof SHELLS, flags: { json?: boolean }) => {
      const script = SHELLS[shell](commandTree(program));
      io.stdout.write(flags.json ? `${JSON.stringify({ shell, script })}\n` : script);
    });
}
