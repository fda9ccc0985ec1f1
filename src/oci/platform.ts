// Choosing one image of a multi-platform index, as `docker pull` does on this machine.

import { arch } from 'node:process';
import type { Descriptor } from './manifest.ts';

/** An OCI platform (os/architecture[/variant]). */
export interface Platform { os: string; architecture: string; variant?: string }

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** This host's platform in OCI terms (linux/amd64 on x86-64). */
export function hostPlatform(): Platform {
  const architecture = GOARCH[arch] ?? arch;
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

/**
 * The index entry for `want`: same os and architecture, and the same variant when both name one (arm64 entries often
 * omit "v8"). Attestation entries (platform unknown/unknown) never match. Null when the index has none.
 */
export function pickPlatform(manifests: readonly Descriptor[], want: Platform): Descriptor | null {
  const candidates = manifests.filter((m) => {
    const p = m.platform as Partial<Platform> | undefined;
    return p?.os === want.os && p.architecture === want.architecture;
  });
  const exact = candidates.find((m) => (m.platform as Partial<Platform>).variant === want.variant);
  return exact ?? candidates.find((m) => !(m.platform as Partial<Platform>).variant || !want.variant) ?? null;
}
