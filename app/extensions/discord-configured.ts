/** Is Discord configured at all? (Apart from discord.ts, so deciding does not load discord.js.) */
export function discordConfigured(config: { discordPublicKey?: string | undefined; discordBotToken?: string | undefined }): boolean {
  return Boolean(config.discordPublicKey || config.discordBotToken);
}
