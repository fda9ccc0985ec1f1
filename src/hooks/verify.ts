import { safeEqual } from '../core/ids.ts';
import { header, type Headers } from './parse.ts';
import { verifySignature } from './signature.ts';

/**
 * Checks the credentials a hook request presents against the hook's secret. A request may present several (GitHub
 * signs the body and may also carry the key in the URL); every one presented must match and at least one must be
 * there:
 *   X-Hub-Signature-256: sha256=<HMAC of the raw body>     GitHub (and Gitea, Forgejo)
 *   X-Hub-Signature: sha256=<hex> | sha1=<hex>             Bitbucket (Cloud and Server); GitHub's legacy header
 *   X-Gitlab-Token: <secret>                               GitLab
 *   ?key=<secret> in the URL                                any host, the generic POST, `curl`
 *   X-BuildGrid-Hook-Secret: <secret> | Authorization: Bearer <secret>    generic clients
 */

export type Verdict = { ok: true; via: string[] } | { ok: false; reason: string };

export function verifyRequest(secret: string, h: Headers, key: string | undefined, body: Buffer): Verdict {
  const via: string[] = [];
  const sig256 = header(h, 'x-hub-signature-256');
  if (sig256 !== undefined) {
    if (!verifySignature(secret, body, sig256, ['sha256'])) return { ok: false, reason: 'X-Hub-Signature-256 does not match the body signed with the hook secret' };
    via.push('x-hub-signature-256');
  }
  const sig = header(h, 'x-hub-signature');
  if (sig !== undefined) {
    if (!verifySignature(secret, body, sig, ['sha256', 'sha1'])) return { ok: false, reason: 'X-Hub-Signature does not match the body signed with the hook secret' };
    via.push('x-hub-signature');
  }
  const plain: Array<[string, string | undefined]> = [
    ['X-Gitlab-Token', header(h, 'x-gitlab-token')],
    ['the key in the URL', key],
    ['X-BuildGrid-Hook-Secret', header(h, 'x-buildgrid-hook-secret')],
  ];
  const auth = header(h, 'authorization');
  if (auth && /^bearer /i.test(auth)) plain.push(['Authorization: Bearer', auth.slice(7).trim()]);
  for (const [name, value] of plain) {
    if (value === undefined) continue;
    if (!safeEqual(value, secret)) return { ok: false, reason: `${name} is not this hook's secret` };
    via.push(name);
  }
  if (via.length === 0) return { ok: false, reason: 'no signature or secret: sign the body (X-Hub-Signature-256), send X-Gitlab-Token, or use the URL with ?key=' };
  return { ok: true, via };
}
