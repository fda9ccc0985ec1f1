import { AppError, isAppError } from '../../core/errors.ts';
import type { NetGuard } from '../../core/netguard.ts';
import { withAddress, type ParsedGitUrl } from './urls.ts';

/**
 * Where git may connect for one URL. The host is resolved and every address checked by the NetGuard
 * (allowPrivateNetworks) before git runs, and git is then held to the checked address, so a name that changes its
 * answer between the check and git's own lookup (DNS rebinding) cannot lead it elsewhere:
 *  - http(s): `http.curloptResolve=host:port:address…` puts the checked addresses in curl's DNS cache (the URL, the
 *    Host header and TLS verification keep the name), and `http.followRedirects=false` keeps curl from following a
 *    redirect to a host nobody checked (git's default follows redirects of its first request);
 *  - ssh and scp-like: git is given the URL with the checked address in place of the name, and ssh keeps the host
 *    key under the name (`HostKeyAlias`), so known_hosts pins keep working;
 *  - file://: nothing to check here (allowLocalGit decides).
 * A configured HTTP proxy (http_proxy, https_proxy) resolves the name itself: the check still runs here, but what the
 * proxy connects to is the proxy's decision.
 */

export interface PinnedDestination {
  /** The URL to hand to git (ssh: the checked address instead of the name; otherwise the URL as parsed). */
  gitUrl: string;
  /** Settings for every git run (passed with -c). */
  config: Record<string, string>;
  /** ssh: the name under which the host key is recorded and checked. */
  hostKeyAlias?: string;
}

/**
 * Resolves and checks the host of `url`. Throws AppError INVALID naming the refused address and the URL, or saying
 * that the name does not resolve.
 */
export async function pinDestination(url: ParsedGitUrl, guard: NetGuard): Promise<PinnedDestination> {
  if (url.kind === 'file' || url.host === null) return { gitUrl: url.url, config: {} };
  const host = url.host.replace(/^\[(.*)\]$/, '$1');
  let addresses: Array<{ address: string; family: 4 | 6 }>;
  try {
    addresses = await guard.resolve(host);
  } catch (err) {
    if (isAppError(err)) throw new AppError('INVALID', `cannot fetch ${url.url}: ${err.message}`);
    throw err;
  }
  const literal = addresses.length === 1 && addresses[0]!.address === host;
  if (url.kind === 'ssh') {
    if (literal) return { gitUrl: url.url, config: {} };
    // known_hosts names a host on another port than 22 "[host]:port"; the alias must read the same to find its key.
    const port = /^[a-z+]+:\/\//i.test(url.url) ? new URL(url.url).port : '';
    return { gitUrl: withAddress(url, addresses[0]!.address), config: {}, hostKeyAlias: port && port !== '22' ? `[${host}]:${port}` : host };
  }
  const config: Record<string, string> = { 'http.followRedirects': 'false' };
  if (!literal) {
    const u = new URL(url.url);
    const port = u.port || (url.kind === 'https' ? '443' : '80');
    config['http.curloptResolve'] = `${host}:${port}:${addresses.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)).join(',')}`;
  }
  return { gitUrl: url.url, config };
}
