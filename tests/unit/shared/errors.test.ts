import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../../src/shared/errors.js';

describe('errorMessage', () => {
  it('gives an Error’s message, whatever its class', () => {
    expect(errorMessage(new Error('connect ECONNREFUSED 127.0.0.1:5672'))).toBe('connect ECONNREFUSED 127.0.0.1:5672');
    expect(errorMessage(new TypeError('fetch failed'))).toBe('fetch failed');
  });

  it('gives a thrown string as it is', () => {
    expect(errorMessage('timed out')).toBe('timed out');
  });

  it('gives the message of an object that carries one, and String() of one that does not', () => {
    expect(errorMessage({ message: 'NOT_FOUND - no queue', code: 404 })).toBe('NOT_FOUND - no queue');
    expect(errorMessage({ message: 42 })).toBe('[object Object]');
    expect(errorMessage({})).toBe('[object Object]');
  });

  it('never throws on nothing at all', () => {
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(null)).toBe('null');
    expect(errorMessage(7)).toBe('7');
  });

  it('gives what an AggregateError without a message of its own aggregates', () => {
    const both = new AggregateError([new Error('connect ECONNREFUSED ::1:3001'), new Error('connect ECONNREFUSED 127.0.0.1:3001')]);
    expect(errorMessage(both)).toBe('connect ECONNREFUSED ::1:3001; connect ECONNREFUSED 127.0.0.1:3001');
    expect(errorMessage(new AggregateError([new Error('a')], 'all failed'))).toBe('all failed');
    expect(errorMessage(new AggregateError([]))).toBe('');
  });
});
