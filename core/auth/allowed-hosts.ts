/**
 * DNS rebinding protection: which `Host` header values opsloop answers. Pure.
 *
 * A web page on `evil.example` can make its own name resolve to 127.0.0.1 and then talk to an
 * opsloop on loopback as if it were the page's own origin; the browser still sends
 * `Host: evil.example`. So opsloop answers only requests whose Host names opsloop itself:
 * `localhost`, the host of the configured public URL, a host name given as the bind address, the
 * names listed in OPSLOOP_ALLOWED_HOSTS (`.example.com` means the domain and its sub-domains), and
 * any IP address. An IP literal is safe to allow: a rebinding attack needs a name whose address
 * the attacker controls, while an IP in the Host is the address the client really connected to.
 * That keeps opsloop on 0.0.0.0 reachable as `http://10.0.0.5:8080`, through a container's port
 * mapping and by Kubernetes probes, which all send the IP they dialled. Ports are not compared:
 * the client reached this port whatever the header says.
 */

/** Which Host header values are answered (see the module comment). */
export interface AllowedHosts {
  /** Host names allowed exactly: lower case, without port, brackets or trailing dot. */
  readonly names: readonly string[];
  /** From `.example.com` entries: `example.com` and every name ending in `.example.com`. */
  readonly domains: readonly string[];
}

/** Always answered, whatever the configuration (with any IP address). */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost'];

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^(?=[^:]*:[^:]*:)[0-9a-f:.]+(%[\w.-]+)?$/i;
const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
/** `name[:port]` or `[v6][:port]`, as a Host header carries them. */
const HOST_HEADER = /^(\[[^\]\s]+\]|[^:[\]\s/@?#]+)(:\d{1,5})?$/;

/** Whether `host` (no port; IPv6 with or without brackets) is an IP address. */
export function isIpLiteral(host: string): boolean {
  if (IPV4.test(host)) return true;
  const v6 = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return v6.includes(':') && IPV6.test(v6);
}

/** Lower case, no trailing dot; null when it is not a DNS name. */
function normalName(name: string): string | null {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  return NAME.test(n) ? n : null;
}

/** The host a Host header names, lower case, without port and trailing dot; null when malformed. */
export function hostOfHeader(header: string): string | null {
  const m = HOST_HEADER.exec(header.trim());
  if (!m) return null;
  const host = m[1]!;
  if (host.startsWith('[')) return isIpLiteral(host) ? host.toLowerCase() : null;
  return isIpLiteral(host) ? host : normalName(host);
}

/**
 * An OPSLOOP_ALLOWED_HOSTS entry: a host name, or `.example.com` for the domain and its
 * sub-domains. Throws on anything else (a port, a scheme, a wildcard). Pure.
 */
export function parseAllowedHostEntry(entry: string): { name: string } | { domain: string } {
  const trimmed = entry.trim();
  const domain = trimmed.startsWith('.');
  const name = normalName(domain ? trimmed.slice(1) : trimmed);
  if (!name) throw new Error(`'${entry}' is not a host name (no scheme, port or *; .example.com allows a domain and its sub-domains)`);
  return domain ? { domain: name } : { name };
}

/**
 * What a running opsloop answers: the loopback names, the public URL's host, the bind address when
 * it is a name (an IP address is allowed anyway; 0.0.0.0 and :: add nothing), and `extra`
 * (OPSLOOP_ALLOWED_HOSTS entries). Throws on a malformed `extra` entry.
 */
export function allowedHostsFor(input: { publicUrl?: string | undefined; bindHost?: string | undefined; extra?: readonly string[] | undefined }): AllowedHosts {
  const names = new Set(LOOPBACK_HOST_NAMES);
  const domains = new Set<string>();
  const add = (host: string | undefined) => {
    const name = host && !isIpLiteral(host) ? normalName(host) : null;
    if (name) names.add(name);
  };
  if (input.publicUrl && URL.canParse(input.publicUrl)) add(new URL(input.publicUrl).hostname);
  add(input.bindHost);
  for (const entry of input.extra ?? []) {
    const parsed = parseAllowedHostEntry(entry);
    if ('name' in parsed) names.add(parsed.name);
    else domains.add(parsed.domain);
  }
  return { names: [...names], domains: [...domains] };
}

/** Whether a request with this Host header is answered (a missing or malformed header is not). */
export function isHostAllowed(header: string | undefined, allowed: AllowedHosts): boolean {
  const host = header === undefined ? null : hostOfHeader(header);
  if (host === null) return false;
  if (isIpLiteral(host) || allowed.names.includes(host)) return true;
  return allowed.domains.some((d) => host === d || host.endsWith(`.${d}`));
}

/** One line for the start-up log: `localhost, ops.example.com, *.corp.example or any IP address`. */
export function describeAllowedHosts(allowed: AllowedHosts): string {
  return [...allowed.names, ...allowed.domains.map((d) => `${d} and *.${d}`), 'any IP address'].join(', ');
}
