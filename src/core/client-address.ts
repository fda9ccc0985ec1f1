import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Who is on the other end of a request: the socket's peer, or — when that peer is one of our own reverse proxies —
 * the client the proxies name in X-Forwarded-For.
 *
 * Each proxy appends the address it received the request from, so the header reads `client, proxy1, proxy2` and only
 * its right end is written by machines we trust. Walking from the right, every address that is itself a trusted proxy
 * is skipped; the first one that is not is the client. Anything to the left of it was written by the client and means
 * nothing (a client cannot make itself look like someone else by sending the header). A peer outside the trusted list
 * is the client, whatever headers it sends.
 */

/** A parsed list of trusted proxy networks. */
export interface TrustedProxies {
  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) lies in one of the networks. */
  has(address: string): boolean;
  /** How many networks (0 = trust no one; X-Forwarded-For is then always ignored). */
  readonly size: number;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a single address (a /32 or /128). Returns null when it is neither. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const v = isIP(address);
  if (v === 0 || rest.length > 0) return null;
  const max = v === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Builds the trusted list from CIDRs. Throws Error naming the first entry that is not an address or CIDR. */
export function trustedProxies(cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const c of cidrs) {
    const parsed = parseCidr(c);
    if (!parsed) throw new Error(`"${c.slice(0, 60)}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const size = cidrs.length;
  return {
    size,
    has(address) {
      if (size === 0) return false;
      const plain = unmapped(address);
      const v = isIP(plain);
      return v !== 0 && list.check(plain, v === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** `::ffff:1.2.3.4` (how a dual-stack socket reports IPv4 peers) as `1.2.3.4`; other addresses unchanged. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * The client address of `req` (see the file comment): the socket peer, or the right-most X-Forwarded-For address that
 * is not a trusted proxy when the peer is one. Malformed header entries end the walk at the last trusted hop, which is
 * then the address used. Never throws; `unknown` when the socket has no address.
 */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  let client = unmapped(req.socket.remoteAddress ?? 'unknown');
  if (!trusted.has(client)) return client;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = unmapped(hops[i]!);
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}
