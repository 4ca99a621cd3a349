import { describe, expect, it } from 'vitest';
import { afterOptimizing, beforeOptimizing } from '../../../src/api/upload-decision.js';

const pending = { status: 'pending' as const, attempts: 0, updatedAt: '' };
const done = { status: 'done' as const, attempts: 1, updatedAt: '' };
const failed = { status: 'failed' as const, attempts: 5, error: 'x', updatedAt: '' };

describe('upload decision', () => {
  it('serves a cached result before anything else', () => {
    expect(beforeOptimizing({ hasResult: true, job: pending })).toBe('serve-cached');
    expect(beforeOptimizing({ hasResult: true, job: undefined })).toBe('serve-cached');
  });

  it('answers the same 202 while a job for the same bytes is pending', () => {
    expect(beforeOptimizing({ hasResult: false, job: pending })).toBe('already-queued');
  });

  it('optimizes when nothing is known, when a done job lost its result, and when a job failed', () => {
    expect(beforeOptimizing({ hasResult: false, job: undefined })).toBe('optimize');
    expect(beforeOptimizing({ hasResult: false, job: done })).toBe('optimize');
    expect(beforeOptimizing({ hasResult: false, job: failed })).toBe('optimize');
  });

  it('maps each optimizer outcome to serve, reject or enqueue', () => {
    expect(afterOptimizing({ outcome: 'ok', data: Buffer.alloc(1), contentType: 'image/jpeg' })).toBe('serve-result');
    expect(afterOptimizing({ outcome: 'rejected', status: 422, detail: 'bad' })).toBe('reject');
    expect(afterOptimizing({ outcome: 'unavailable', detail: 'refused' })).toBe('enqueue');
    expect(afterOptimizing({ outcome: 'unavailable', detail: 'busy', status: 503 })).toBe('enqueue');
    expect(afterOptimizing({ outcome: 'timeout', detail: 'slow' })).toBe('enqueue');
  });
});
