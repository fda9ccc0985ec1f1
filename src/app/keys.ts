import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecretKey, parseSecretKey } from '../auth/index.ts';

/**
 * The server's secret key (encrypts registry passwords, binds upload ids). Kept in `<dataDir>/secret.key` (0600),
 * generated on first start. Nodes of one cluster must share it (later: from configuration).
 */
export function loadOrCreateSecretKey(dataDir: string): Buffer {
  const file = join(dataDir, 'secret.key');
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${generateSecretKey()}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return parseSecretKey(readFileSync(file, 'utf8').trim());
}
