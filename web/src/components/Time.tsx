import { absolute, relative, useNow } from '../lib/time';

/** A moment as "5 min ago", with the full date and time on hover (and for assistive technology). */
export function RelTime({ iso }: { iso: string }) {
  const now = useNow(15_000);
  return (
    <time dateTime={iso} title={absolute(iso)}>
      {relative(iso, now)}
    </time>
  );
}
