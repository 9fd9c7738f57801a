import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Discord HTTP interactions as Discord sends them, for tests: an Ed25519 key pair (the public half
 * is DISCORD_PUBLIC_KEY), payload builders for slash commands and button clicks in a guild
 * channel, and a poster that signs `X-Signature-Timestamp + body` with the private half.
 */

export interface DiscordTestUser {
  id: string;
  username: string;
  /** Guild role ids of the member (policy `discord_roles` match these). */
  roles: string[];
}

export interface DiscordAnswer {
  status: number;
  json: { type?: number; data?: Record<string, unknown>; error?: { code: string; message: string } };
}

export type InteractionPayload = Record<string, unknown> & { id: string; token: string };

export class DiscordInteractionSigner {
  readonly publicKeyHex: string;
  private readonly privateKey: KeyObject;
  private seq = 0;

  constructor(readonly applicationId: string, readonly guildId: string) {
    const pair = generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    // SPKI DER of an Ed25519 key = 12-byte prefix + the raw 32-byte key Discord shows.
    this.publicKeyHex = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
  }

  /** POST a signed interaction to `${baseUrl}/discord/interactions`. */
  async post(baseUrl: string, payload: unknown): Promise<DiscordAnswer> {
    const body = JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = sign(null, Buffer.from(timestamp + body), this.privateKey).toString('hex');
    const res = await fetch(`${baseUrl}/discord/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp },
      body,
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as DiscordAnswer['json'] : {} };
  }

  /** `/ops <sub> <options>` typed by `user` in `channel` (type 2, APPLICATION_COMMAND). */
  slash(sub: string, options: Record<string, string | number>, user: DiscordTestUser, channel: string): InteractionPayload {
    const opts = Object.entries(options).map(([name, value]) => ({ name, type: typeof value === 'number' ? 4 : 3, value }));
    return this.base(2, user, channel, { data: { id: '1', name: 'ops', type: 1, options: [{ name: sub, type: 1, options: opts }] } });
  }

  /** A click on a button with `customId` on message `messageId` (type 3, MESSAGE_COMPONENT). */
  click(customId: string, user: DiscordTestUser, channel: string, messageId: string): InteractionPayload {
    return this.base(3, user, channel, {
      data: { custom_id: customId, component_type: 2 },
      message: { id: messageId, channel_id: channel, type: 0, content: '', embeds: [], components: [] },
    });
  }

  private base(type: number, user: DiscordTestUser, channel: string, extra: Record<string, unknown>): InteractionPayload {
    this.seq += 1;
    return {
      id: String(1_600_000_000_000_000_000n + BigInt(this.seq)), application_id: this.applicationId, type,
      token: `itok-${this.seq}-${'x'.repeat(24)}`, version: 1, guild_id: this.guildId,
      channel_id: channel, channel: { id: channel, type: 0 },
      member: { user: { id: user.id, username: user.username, global_name: null, discriminator: '0', avatar: null }, roles: user.roles, permissions: '0' },
      app_permissions: '0', locale: 'en-US', entitlements: [], authorizing_integration_owners: {}, context: 0,
      ...extra,
    };
  }
}

/** Everything a user reads in a Discord message body: content, embed title, description, fields, footer (markdown escapes removed). */
export function discordText(body: unknown): string {
  const data = (body ?? {}) as Record<string, unknown>;
  const embeds = (data.embeds ?? []) as Array<{ title?: string; description?: string; fields?: Array<{ name: string; value: string }>; footer?: { text: string } }>;
  return [String(data.content ?? ''), ...embeds.flatMap((e) => [
    e.title ?? '', e.description ?? '', ...(e.fields ?? []).map((f) => `${f.name}: ${f.value}`), e.footer?.text ?? '',
  ])].filter(Boolean).join('\n').replace(/\\(.)/g, '$1');
}

/** Buttons of a Discord message body, as label → custom_id. */
export function discordButtons(body: unknown): Map<string, string> {
  const rows = ((body ?? {}) as { components?: Array<{ components?: Array<{ label?: string; custom_id?: string }> }> }).components ?? [];
  return new Map(rows.flatMap((r) => r.components ?? []).filter((b) => b.label && b.custom_id).map((b) => [b.label!, b.custom_id!]));
}
