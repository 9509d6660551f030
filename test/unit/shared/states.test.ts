import { describe, expect, it } from 'vitest';
import {
  ATTEMPT_STATES,
  canMoveAttempt,
  canMoveJob,
  isFinalAttemptState,
} from '../../../shared/states.js';

describe('state transitions', () => {
  it('lets jobs finish once, and only failed jobs come back (re-run failed tasks)', () => {
    expect(canMoveJob('queued', 'running')).toBe(true);
    expect(canMoveJob('running', 'succeeded')).toBe(true);
    expect(canMoveJob('succeeded', 'running')).toBe(false);
    expect(canMoveJob('cancelled', 'running')).toBe(false);
    expect(canMoveJob('failed', 'running')).toBe(true);
  });

  it('never moves an attempt out of a final state', () => {
    for (const from of ATTEMPT_STATES.filter(isFinalAttemptState))
      for (const to of ATTEMPT_STATES) expect(canMoveAttempt(from, to)).toBe(false);
    expect(canMoveAttempt('running', 'lost')).toBe(true);
    expect(canMoveAttempt('pending', 'succeeded')).toBe(false);
  });
});
