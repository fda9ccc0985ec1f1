import { useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Build, LogLine } from '../api/types';
import { labelOf, type Tone } from '../lib/status';
import { duration, span, useNow } from '../lib/time';
import { StatusIcon } from './Status';

interface Section { key: string; phase: string; title: string; lines: LogLine[] }

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Splits the log at its phase markers (lines carrying `phase`). */
function sectionsOf(lines: LogLine[]): Section[] {
  const out: Section[] = [];
  for (const l of lines) {
    if (l.phase) out.push({ key: `${l.phase}-${l.n}`, phase: l.phase, title: l.text, lines: [] });
    else {
      if (out.length === 0) out.push({ key: 'start', phase: 'preparing', title: 'Preparing', lines: [] });
      out[out.length - 1]!.lines.push(l);
    }
  }
  return out;
}

/** The build log: phases as sections with durations, search, and auto-scroll that stops when the reader scrolls up. */
export function LogView({ build, lines, live }: { build: Build; lines: LogLine[]; live: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  const [following, setFollowing] = useState(true);
  const [query, setQuery] = useState('');
  const [onlyHits, setOnlyHits] = useState(false);
  const [hitIndex, setHitIndex] = useState(-1);
  const now = useNow(live ? 1000 : 60_000);
  const sections = useMemo(() => sectionsOf(lines), [lines]);
  const q = query.trim().toLowerCase();
  const hits = useMemo(() => (q ? lines.filter((l) => !l.phase && l.text.toLowerCase().includes(q)).length : 0), [lines, q]);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);

  const setFollow = (v: boolean) => {
    follow.current = v;
    setFollowing(v);
  };
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 32;
    if (atBottom !== follow.current) setFollow(atBottom);
  };
  const jumpToEnd = () => {
    setFollow(true);
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  };
  const nextHit = (dir: 1 | -1) => {
    const marks = box.current?.querySelectorAll<HTMLElement>('.line-hit');
    if (!marks || marks.length === 0) return;
    const i = (hitIndex + dir + marks.length) % marks.length;
    setHitIndex(i);
    setFollow(false);
    marks[i]!.scrollIntoView({ block: 'center' });
  };

  const phaseInfo = (s: Section, last: boolean): { tone: Tone; took: number | null } => {
    const t = [...build.phases].reverse().find((p) => p.name === s.phase);
    const running = t ? !t.endedAt : last && live;
    const tone: Tone = running ? 'run' : last && build.status === 'failed' ? 'bad' : last && build.status === 'cancelled' ? 'off' : 'ok';
    return { tone, took: t ? span(t.startedAt, t.endedAt, now) : null };
  };

  return (
    <div className="logview">
      <div className="log-tools" role="search">
        <label htmlFor="log-search" className="visually-hidden">Search the log</label>
        <input
          id="log-search" type="search" placeholder="Search the log" value={query}
          onChange={(e) => { setQuery(e.target.value); setHitIndex(-1); }}
          onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); nextHit(e.shiftKey ? -1 : 1); } }}
        />
        {q && <span className="small muted" aria-live="polite">{hits} matching line{hits === 1 ? '' : 's'}</span>}
        {q && hits > 0 && (
          <>
            <button type="button" className="btn btn-small btn-quiet" onClick={() => nextHit(-1)} aria-label="Previous match">↑</button>
            <button type="button" className="btn btn-small btn-quiet" onClick={() => nextHit(1)} aria-label="Next match">↓</button>
          </>
        )}
        {q && <label className="check small"><input type="checkbox" checked={onlyHits} onChange={(e) => setOnlyHits(e.target.checked)} /> Only matching lines</label>}
      </div>
      <div className="log" ref={box} onScroll={onScroll} tabIndex={0} role="log" aria-label="Build log" aria-live="off" data-testid="log">
        {sections.length === 0 && <p className="log-empty">{live ? 'Waiting for the first lines…' : 'This build wrote no log.'}</p>}
        {sections.map((s, i) => {
          const { tone, took } = phaseInfo(s, i === sections.length - 1);
          return (
            <details key={s.key} open className="log-section" data-phase={s.phase}>
              <summary>
                <StatusIcon tone={tone} />
                <span className="log-phase">{labelOf(s.phase)}</span>
                <span className="log-title">{s.title.replace(ANSI, '')}</span>
                <span className="log-took">{duration(took)}</span>
              </summary>
              {s.lines.map((l) => {
                const text = l.text.replace(ANSI, '');
                const hit = !!q && text.toLowerCase().includes(q);
                if (onlyHits && q && !hit) return null;
                return (
                  <div key={l.n} className={`line${hit ? ' line-hit' : ''}`}>
                    <span className="ln" aria-hidden="true">{l.n}</span>
                    <span className="lt">{hit ? highlight(text, q) : text}</span>
                  </div>
                );
              })}
            </details>
          );
        })}
      </div>
      {!following && live && (
        <button type="button" className="btn btn-small follow" onClick={jumpToEnd}>↓ Follow the log</button>
      )}
    </div>
  );
}

function highlight(text: string, q: string) {
  const parts: ReactNode[] = [];
  const low = text.toLowerCase();
  let at = 0;
  for (let i = low.indexOf(q); i >= 0; i = low.indexOf(q, i + q.length)) {
    parts.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + q.length)}</mark>);
    at = i + q.length;
  }
  parts.push(text.slice(at));
  return parts;
}
