import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

const SAFE_VALUE = /^[^"\\`$\n\r]*$/;
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/**
 * A copy of `dockerfile` with one `LABEL` instruction appended for `labels`, written under `dir` (same base name);
 * resolves to its path, or to null when the labels must be passed as `--label` flags instead. Why: buildah 1.28 runs
 * every `--label` flag as a step of its own after the last instruction (each a commit), so four labels cost four
 * steps; one LABEL instruction costs one. Appending applies to the final stage, which is the image built (no
 * `--target` is used). Null — flags, same result — when appending could change the meaning: a label key or value
 * that would need quoting or variable expansion (`"`, `\`, backtick, `$`, newline), a last line continued with a
 * backslash or backtick, or a Dockerfile-specific ignore file (`<Dockerfile>.dockerignore`) that a copy elsewhere
 * would lose. The context's `.dockerignore` still applies: buildah reads it from the context directory.
 */
export async function dockerfileWithLabels(dockerfile: string, labels: Record<string, string>, dir: string): Promise<string | null> {
  const entries = Object.entries(labels);
  if (entries.length === 0) return null;
  if (!entries.every(([k, v]) => SAFE_KEY.test(k) && SAFE_VALUE.test(v))) return null;
  if (await access(`${dockerfile}.dockerignore`).then(() => true, () => false)) return null;
  const text = await readFile(dockerfile, 'utf8');
  const lastLine = text.trimEnd().split('\n').at(-1) ?? '';
  if (/[\\`]\s*$/.test(lastLine)) return null;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const out = join(dir, basename(dockerfile));
  const label = `LABEL ${entries.map(([k, v]) => `"${k}"="${v}"`).join(' ')}`;
  await writeFile(out, `${text.replace(/\s*$/, '')}\n${label}\n`);
  return out;
}
