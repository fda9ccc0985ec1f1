import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseCidr } from './client-address.ts';
import { AppError } from './errors.ts';

/**
 * Which addresses BuildGrid may connect to on behalf of its users (notification receivers, git hosts). Every such
 * destination is chosen by a tenant, so by default nothing inside the operator's network is reachable: loopback,
 * RFC 1918, CGNAT, link-local (where clouds keep their instance metadata: 169.254.169.254, fd00:ec2::254), ULA,
 * unspecified, multicast and reserved ranges, the same ranges written as IPv4-mapped / IPv4-compatible / NAT64 / 6to4
 * IPv6 addresses, and every address of this machine. The operator widens this with `allowPrivateNetworks`: `true`
 * (single-user setups: everything) or a list of CIDRs that are allowed even though they fall in a refused range.
 *
 * A hostname is checked by resolving it and checking EVERY address it resolves to (a name that answers with one public
 * and one private address is refused: such an answer is an attack, not a configuration). Checking and connecting must
 * use the same answer, or a name that changes between the two (DNS rebinding) slips through: `lookup` is a resolver
 * for node's sockets that checks what it hands over, and `resolve` returns the checked addresses for callers that pin
 * them themselves (git's http.curloptResolve, ssh to the address).
 */

/** What the operator allows besides public addresses: nothing (false), everything (true) or these CIDRs. */
export type PrivateNetworks = boolean | readonly string[];

/** A resolved address: `family` 4 or 6. */
export interface ResolvedAddress { address: string; family: 4 | 6 }

/** Resolves a name to all its addresses (dns.lookup by default; tests give a fixed table). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** Thrown when a destination is refused. A subclass of AppError INVALID whose message says how to allow it. */
export class DestinationRefused extends AppError {
  constructor(readonly destination: string, readonly reason: string) {
    super('INVALID', `destination ${destination} is ${reason}; an administrator can allow it with allowPrivateNetworks`);
    this.name = 'DestinationRefused';
  }
}

export interface NetGuard {
  /** Null when the IP literal `address` may be connected to, else why not ("a private address (loopback)"). */
  refusal(address: string): string | null;
  /**
   * Resolves `host` (a name, an IP literal, or an IPv6 literal in brackets) and checks every address. Resolves to the
   * addresses (IP literals: themselves, nothing is looked up). Throws DestinationRefused naming the first refused
   * address, AppError INVALID when the name does not resolve.
   */
  resolve(host: string): Promise<ResolvedAddress[]>;
  /** A `lookup` for net.connect / http.request: resolves, checks, and hands the socket only the checked addresses. */
  lookup: LookupFunction;
}

interface Cidr { family: 4 | 6; base: bigint; bits: number }
interface Rule extends Cidr { reason: string }

const PRIVATE = (what: string) => `a private address (${what})`;
const RULES: Rule[] = [
  ...rules('0.0.0.0/8', 'an unspecified address ("this network")'),
  ...rules('10.0.0.0/8', PRIVATE('RFC 1918')),
  ...rules('100.64.0.0/10', PRIVATE('shared CGNAT range')),
  ...rules('127.0.0.0/8', PRIVATE('loopback')),
  ...rules('169.254.0.0/16', PRIVATE('link-local, where cloud instance metadata lives')),
  ...rules('172.16.0.0/12', PRIVATE('RFC 1918')),
  ...rules('192.0.0.0/24', 'a reserved address (IETF protocol assignments)'),
  ...rules('192.168.0.0/16', PRIVATE('RFC 1918')),
  ...rules('198.18.0.0/15', 'a reserved address (benchmarking)'),
  ...rules('224.0.0.0/4', 'a multicast address'),
  ...rules('240.0.0.0/4', 'a reserved address (including broadcast)'),
  ...rules('::/128', 'an unspecified address'),
  ...rules('::1/128', PRIVATE('loopback')),
  ...rules('100::/64', 'a reserved address (discard)'),
  ...rules('64:ff9b:1::/48', PRIVATE('local-use NAT64')),
  ...rules('fc00::/7', PRIVATE('unique local, ULA')),
  ...rules('fe80::/10', PRIVATE('link-local, where cloud instance metadata lives')),
  ...rules('fec0::/10', PRIVATE('site-local')),
  ...rules('ff00::/8', 'a multicast address'),
];

/** IPv6 ranges that carry an IPv4 address: [prefix, where the 32 bits sit (shift from the right)]. */
const EMBEDDING: Array<[Cidr, number, string]> = [
  [cidr('::ffff:0:0/96'), 0, 'IPv4-mapped'],
  [cidr('::/96'), 0, 'IPv4-compatible'],
  [cidr('64:ff9b::/96'), 0, 'NAT64'],
  [cidr('2002::/16'), 80, '6to4'],
];

/**
 * Parses the allowPrivateNetworks setting: a boolean, 'true'/'false'/'1'/'0', a JSON array, a comma-separated list,
 * or an array of CIDRs (a bare address means that one address). Resolves to true, false or the normalised CIDRs (an
 * empty list is false). Throws Error naming the entry that is not a CIDR.
 */
export function parsePrivateNetworks(value: unknown): boolean | string[] {
  if (typeof value === 'boolean') return value;
  let list: unknown = value;
  if (typeof value === 'string') {
    const v = value.trim();
    if (['true', '1'].includes(v.toLowerCase())) return true;
    if (['false', '0', ''].includes(v.toLowerCase())) return false;
    if (v.startsWith('[')) {
      try { list = JSON.parse(v); } catch { throw new Error('is not valid JSON: give a JSON array of CIDRs, a comma-separated list, true or false'); }
    } else {
      list = v.split(',').map((x) => x.trim()).filter(Boolean);
    }
  }
  if (!Array.isArray(list)) throw new Error('must be true, false or a list of CIDRs such as ["10.0.0.0/8"]');
  const out = list.map((entry) => {
    if (typeof entry !== 'string') throw new Error(`entry ${JSON.stringify(entry)} is not a CIDR such as "10.0.0.0/8"`);
    const c = tryCidr(entry.trim());
    if (!c) throw new Error(`entry "${entry.slice(0, 60)}" is not a CIDR such as "10.0.0.0/8" or "fd00::/8"`);
    return entry.trim();
  });
  return out.length > 0 ? out : false;
}

/**
 * Creates the guard. `ownAddresses` lists this machine's addresses (default: every interface address, read at each
 * check since interfaces change); they are refused like private ones.
 */
export function createNetGuard(opts: { allow: PrivateNetworks; ownAddresses?: () => readonly string[]; resolver?: Resolver }): NetGuard {
  const allowAll = opts.allow === true;
  const allowed = Array.isArray(opts.allow) ? (opts.allow as readonly string[]).map((c) => tryCidr(c)!).filter(Boolean) : [];
  const own = opts.ownAddresses ?? thisMachineAddresses;
  const resolver = opts.resolver ?? systemResolver;

  const refusal = (address: string): string | null => {
    if (allowAll) return null;
    const ip = parseIp(address);
    if (!ip) return 'not an IP address';
    const v4 = embeddedV4(ip);
    const forms = v4 ? [ip, v4.ip] : [ip];
    if (forms.some((f) => allowed.some((c) => contains(c, f)))) return null;
    for (const rule of RULES) if (contains(rule, ip)) return rule.reason;
    if (v4) for (const rule of RULES) if (contains(rule, v4.ip)) return `${rule.reason}, written as IPv6 (${v4.form})`;
    const mine = own().map(parseIp).filter((x): x is Ip => x !== null);
    if (forms.some((f) => mine.some((m) => m.family === f.family && m.value === f.value))) return "this server's own address";
    return null;
  };

  const resolve = async (host: string): Promise<ResolvedAddress[]> => {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(bare.replace(/%.*$/, ''));
    const found = literal ? [{ address: bare, family: literal as 4 | 6 }] : await resolver(bare).catch((err: Error & { code?: string }) => {
      throw new AppError('INVALID', `cannot resolve ${bare} (${err.code ?? err.message}): check the host name`);
    });
    if (found.length === 0) throw new AppError('INVALID', `${bare} has no address: check the host name`);
    for (const a of found) {
      const why = refusal(a.address);
      if (why) throw new DestinationRefused(literal ? a.address : `${bare} (${a.address})`, why);
    }
    return found;
  };

  const lookup = ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    const o = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean; family?: number | string };
    const want = o.family === 4 || o.family === 'IPv4' ? 4 : o.family === 6 || o.family === 'IPv6' ? 6 : 0;
    resolve(hostname).then((found) => {
      const usable = want ? found.filter((a) => a.family === want) : found;
      if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${want} address`), { code: 'ENOTFOUND' }));
      if (o.all) callback(null, usable);
      else callback(null, usable[0]!.address, usable[0]!.family);
    }, (err: unknown) => callback(err));
  }) as unknown as LookupFunction;

  return { refusal, resolve, lookup };
}

/** Every address of this machine's network interfaces. */
export function thisMachineAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

const systemResolver: Resolver = (host) => new Promise((resolve, reject) => {
  dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
    if (err) reject(err);
    else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
  });
});

interface Ip { family: 4 | 6; value: bigint }

function parseIp(text: string): Ip | null {
  const s = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(s);
  if (family === 4) return { family: 4, value: v4Value(s) };
  if (family !== 6) return null;
  let head = s;
  let tail: bigint[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const v = v4Value(dotted[1]!);
    tail = [v >> 16n, v & 0xffffn];
    head = `${s.slice(0, dotted.index)}:`;
    if (head.endsWith(':::')) head = head.slice(0, -1);
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head.replace(/:$/, ''), null];
  const hex = (part: string) => part.split(':').filter((x) => x !== '').map((x) => BigInt(`0x${x}`));
  const l = hex(left);
  const r = right === null ? [] : hex(right);
  const fill = 8 - l.length - r.length - tail.length;
  const groups = [...l, ...Array<bigint>(right === null ? 0 : fill).fill(0n), ...r, ...tail];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

function v4Value(s: string): bigint {
  return s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function embeddedV4(ip: Ip): { ip: Ip; form: string } | null {
  if (ip.family !== 6 || ip.value <= 1n) return null; // :: and ::1 are themselves, not 0.0.0.0 / 0.0.0.1
  for (const [range, shift, form] of EMBEDDING) {
    if (contains(range, ip)) return { ip: { family: 4, value: (ip.value >> BigInt(shift)) & 0xffffffffn }, form };
  }
  return null;
}

function contains(c: Cidr, ip: Ip): boolean {
  if (c.family !== ip.family) return false;
  const width = c.family === 4 ? 32 : 128;
  const shift = BigInt(width - c.bits);
  return (ip.value >> shift) === (c.base >> shift);
}

/** A CIDR or single address (core/client-address.ts parses the text), as a range of numbers; null when it is neither. */
function tryCidr(text: string): Cidr | null {
  const c = parseCidr(text);
  if (!c || c.address.includes('%')) return null;
  const ip = parseIp(c.address)!;
  return { family: ip.family, base: ip.value, bits: c.prefix };
}

function cidr(text: string): Cidr {
  return tryCidr(text)!;
}

function rules(text: string, reason: string): Rule[] {
  return [{ ...cidr(text), reason }];
}
