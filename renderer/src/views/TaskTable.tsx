// The task table of a job: virtualised, so 100,000 rows scroll as smoothly as 10; live from events.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useReducer, useRef } from 'react';
import type { JobSummary, TaskRow } from '../../../shared/api.js';
import { StateBadge } from '../components.js';
import { duration, short } from '../format.js';
import { grid, useContributorNames } from '../store.js';
import { TaskPages } from './task-pages.js';

const ROW = 34;

function Row({
  row,
  index,
  names,
  onOpen,
}: {
  row: TaskRow | undefined;
  index: number;
  names: Map<string, string>;
  onOpen: () => void;
}) {
  if (!row)
    return (
      <div className="trow loading" role="row" aria-rowindex={index + 2}>
        <span role="cell" className="c-idx">
          …
        </span>
      </div>
    );
  const last = row.attempts[row.attempts.length - 1];
  return (
    <div
      className="trow"
      role="row"
      tabIndex={0}
      aria-rowindex={index + 2}
      data-task={row.idx}
      onClick={onOpen}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onOpen();
        }
      }}
    >
      <span role="cell" className="c-idx">
        {row.idx}
      </span>
      <span role="cell" className="c-state">
        <StateBadge state={row.state} />
        {row.progress !== null && row.state === 'running' && (
          <span className="muted small"> {Math.round(row.progress * 100)} %</span>
        )}
      </span>
      <span role="cell" className="c-att">
        {row.attempts.length}
      </span>
      <span role="cell" className="c-who">
        {last?.contributorId ? (names.get(last.contributorId) ?? last.contributorId) : '—'}
      </span>
      <span role="cell" className="c-time">
        {duration(last?.wallMs)}
      </span>
      <span role="cell" className="c-in mono">
        {short(row.input, 60)}
      </span>
      <span role="cell" className={`c-out mono ${row.error ? 'error' : ''}`}>
        {row.error ?? short(row.output, 60)}
      </span>
    </div>
  );
}

export function TaskTable({
  job,
  filter,
  onOpen,
}: {
  job: JobSummary;
  filter: string | undefined;
  onOpen: (idx: number) => void;
}) {
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const names = useContributorNames();
  const scroller = useRef<HTMLDivElement>(null);
  const pages = useMemo(() => new TaskPages(job.id, filter, redraw), [job.id, filter]);
  useEffect(() => () => pages.dispose(), [pages]);
  const total = filter ? (pages.total ?? 0) : job.taskCount;
  const virtual = useVirtualizer({
    count: total,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 15,
  });
  const items = virtual.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  const range = useRef({ first, last });
  range.current = { first, last };

  useEffect(
    () => pages.ensure(first, filter && pages.total === null ? 0 : last),
    [pages, first, last, filter],
  );

  useEffect(() => {
    // Events patch rows at once; a fuller refetch of stale pages happens at most once a second.
    let frame = 0;
    const off = grid.onTask(job.id, (idx, state) => {
      pages.taskChanged(idx, state);
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        redraw();
      });
    });
    const offRow = grid.onTaskRow(job.id, (row) => {
      pages.put(row);
      redraw();
    });
    const timer = setInterval(() => {
      if (pages.hasDirty) pages.refresh(range.current.first, range.current.last);
    }, 1000);
    return () => {
      off();
      offRow();
      clearInterval(timer);
      cancelAnimationFrame(frame);
    };
  }, [job.id, pages]);

  return (
    <div className="tasks" role="table" aria-label="Tasks" aria-rowcount={total + 1}>
      <div className="trow thead" role="row" aria-rowindex={1}>
        <span role="columnheader" className="c-idx">
          #
        </span>
        <span role="columnheader" className="c-state">
          State
        </span>
        <span role="columnheader" className="c-att">
          Tries
        </span>
        <span role="columnheader" className="c-who">
          Contributor
        </span>
        <span role="columnheader" className="c-time">
          Wall time
        </span>
        <span role="columnheader" className="c-in">
          Input
        </span>
        <span role="columnheader" className="c-out">
          Output / error
        </span>
      </div>
      <div className="tbody" ref={scroller} data-testid="task-scroller">
        <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {items.map((item) => (
            <div
              key={item.key}
              style={{
                position: 'absolute',
                top: 0,
                left: 0,
                right: 0,
                height: ROW,
                transform: `translateY(${item.start}px)`,
              }}
            >
              <Row
                row={pages.row(item.index)}
                index={item.index}
                names={names}
                onOpen={() => {
                  const row = pages.row(item.index);
                  if (row) onOpen(row.idx);
                }}
              />
            </div>
          ))}
        </div>
        {total === 0 && <p className="empty">No tasks {filter ? `in state ${filter}` : ''}.</p>}
      </div>
    </div>
  );
}
