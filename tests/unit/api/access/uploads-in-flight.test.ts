import { describe, expect, it } from 'vitest';
import { UploadsInFlight } from '../../../../src/api/access/uploads-in-flight.js';
import { PROBLEMS } from '../../../../src/shared/contracts/problems.js';

function admitted(slot: ReturnType<UploadsInFlight['enter']>): () => void {
  if ('problem' in slot) throw new Error(`refused: ${slot.problem.message}`);
  return slot.release;
}

describe('UploadsInFlight', () => {
  it('admits a client up to its bound, then answers 429 too-many-uploads with Retry-After, before the body', () => {
    const inFlight = new UploadsInFlight(2);
    admitted(inFlight.enter('ip:a'));
    admitted(inFlight.enter('ip:a'));
    const third = inFlight.enter('ip:a');
    expect('problem' in third && third.problem).toMatchObject({ type: PROBLEMS.tooManyUploads, options: { retryAfterSeconds: 1, bodyLeftUnread: true } });
    expect(inFlight.count('ip:a')).toBe(2);
  });

  it('counts each client apart: one client at its bound does not stop another', () => {
    const inFlight = new UploadsInFlight(1);
    admitted(inFlight.enter('key:one'));
    expect('release' in inFlight.enter('key:two')).toBe(true);
    expect('problem' in inFlight.enter('key:one')).toBe(true);
  });

  it('gives a slot back once, however often it is released, and forgets a client with none', () => {
    const totals: number[] = [];
    const inFlight = new UploadsInFlight(1, (total) => totals.push(total));
    const release = admitted(inFlight.enter('ip:a'));
    release();
    release();
    expect(inFlight.count('ip:a')).toBe(0);
    expect(inFlight.clients).toBe(0);
    expect(totals).toEqual([1, 0]);
    admitted(inFlight.enter('ip:a'));
  });
});
