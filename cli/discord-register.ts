/**
 * `npm run discord:register`: register the /ops slash command with Discord (bulk overwrite).
 * Global by default (may take up to an hour to appear); per guild with DISCORD_GUILD_ID (instant).
 */
import { Routes, type REST } from 'discord.js';
import { pathToFileURL } from 'node:url';
import { createDiscordRest } from '../adapters/chat/discord/discord-chat-client.js';

const STRING = 3;
const INTEGER = 4;
const SUB_COMMAND = 1;

const caseOption = { type: STRING, name: 'case', description: 'Case id or its first 8 characters (implied in a case thread)', required: false, max_length: 36 };

/** The /ops command: one subcommand per `/ops` verb, with the same options as the text form. */
export const OPS_COMMAND = {
  name: 'ops',
  description: 'opsloop: open and follow incident cases',
  type: 1,
  dm_permission: false,
  options: [
    {
      type: SUB_COMMAND, name: 'open', description: 'Open a case (its card and thread appear in this channel)',
      options: [
        { type: STRING, name: 'title', description: 'What is wrong', required: true, max_length: 200 },
        { type: INTEGER, name: 'sev', description: 'Severity 1 (worst) to 4', required: false, min_value: 1, max_value: 4 },
        { type: STRING, name: 'service', description: 'Service name, e.g. checkout-api', required: false, max_length: 63 },
        { type: STRING, name: 'env', description: 'Environment, e.g. prod', required: false, max_length: 63 },
      ],
    },
    { type: SUB_COMMAND, name: 'status', description: 'Status of a case, or the open cases', options: [caseOption] },
    { type: SUB_COMMAND, name: 'timeline', description: 'Timeline of a case', options: [caseOption] },
    {
      type: SUB_COMMAND, name: 'plan', description: 'Ask for a new plan for a PARKED case',
      options: [{ type: STRING, name: 'template', description: 'Plan template, e.g. k8s.rollout.restart', required: false, max_length: 100 }, caseOption],
    },
    { type: SUB_COMMAND, name: 'evidence', description: 'Evidence of a case, with links', options: [caseOption] },
    {
      type: SUB_COMMAND, name: 'runbook', description: 'Search the runbooks and past cases',
      options: [
        { type: STRING, name: 'query', description: 'What is happening, e.g. pods keep restarting', required: true, max_length: 500 },
        { type: STRING, name: 'service', description: 'Only runbooks for this service', required: false, max_length: 63 },
      ],
    },
    { type: SUB_COMMAND, name: 'report', description: 'Post the incident report of a case into its thread', options: [caseOption] },
    {
      type: SUB_COMMAND, name: 'demo', description: 'Break or heal the built-in demo service (when opsloop runs its demo world)',
      options: [{ type: STRING, name: 'action', description: 'break opens a case from its failing probe; heal resets it', required: true,
        choices: [{ name: 'break', value: 'break' }, { name: 'heal', value: 'heal' }] }],
    },
    {
      type: SUB_COMMAND, name: 'silence', description: 'Silence alerts and detector episodes, list silences, or expire one',
      options: [{ type: STRING, name: 'args', description: 'service=checkout alertname=~"High.*" for 2h "reason" · list · expire <id>', required: true, max_length: 1500 }],
    },
    { type: SUB_COMMAND, name: 'help', description: 'How to use /ops' },
  ],
} as const;

export const REGISTER_HELP = `Usage: npm run discord:register [-- --help]

Registers the /ops slash command (subcommands open, status, timeline, plan, evidence, runbook, report, demo, silence, help) for the
Discord application, replacing the application's commands (bulk overwrite).

Environment:
  DISCORD_APP_ID     application id (required)
  DISCORD_BOT_TOKEN  bot token (required)
  DISCORD_GUILD_ID   register in this guild only (appears instantly); without it: global
  DISCORD_API_URL    REST base URL (default https://discord.com/api)
`;

export interface RegisterTarget {
  appId: string;
  guildId?: string;
}

/** PUT the command list; returns the registered commands as Discord answered them. */
export async function registerOpsCommand(rest: REST, target: RegisterTarget): Promise<Array<{ id: string; name: string }>> {
  const route = target.guildId ? Routes.applicationGuildCommands(target.appId, target.guildId) : Routes.applicationCommands(target.appId);
  return await rest.put(route, { body: [OPS_COMMAND] }) as Array<{ id: string; name: string }>;
}

/** The CLI; returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(REGISTER_HELP);
    return 0;
  }
  const appId = env.DISCORD_APP_ID?.trim();
  const token = env.DISCORD_BOT_TOKEN?.trim();
  const guildId = env.DISCORD_GUILD_ID?.trim() || undefined;
  const problems: string[] = [];
  if (!appId || !/^\d{5,25}$/.test(appId)) problems.push('DISCORD_APP_ID: expected a Discord application id (digits)');
  if (!token || /\s/.test(token)) problems.push('DISCORD_BOT_TOKEN: expected a bot token');
  if (guildId && !/^\d{5,25}$/.test(guildId)) problems.push('DISCORD_GUILD_ID: expected a guild id (digits)');
  if (problems.length) {
    out(problems.join('\n'));
    out('Run with --help for usage.');
    return 2;
  }
  const rest = createDiscordRest({ token: token!, ...(env.DISCORD_API_URL ? { apiUrl: env.DISCORD_API_URL } : {}) });
  try {
    const registered = await registerOpsCommand(rest, { appId: appId!, ...(guildId ? { guildId } : {}) });
    out(`Registered ${registered.map((c) => `/${c.name} (${c.id})`).join(', ')} ${guildId ? `in guild ${guildId}` : 'globally (may take up to an hour to show)'}.`);
    return 0;
  } catch (error) {
    out(`Registering failed: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then((code) => { process.exitCode = code; });
}
