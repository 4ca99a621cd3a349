/**
 * The scaling function alone: properties over random queues and policies (fast-check), and the
 * stabilization window, the cooldown and activation as timelines of plain numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideScale, replicasFor, type ScalingPolicy, type ScalingState } from '../../../src/controller/scaling.js';
import { scalingPolicyArb } from './arbitraries.js';

const policyArb = scalingPolicyArb();

const base: ScalingPolicy = {
  minReplicas: 0,
  maxReplicas: 10,
  messagesPerReplica: 10,
  activationMessages: 0,
  scaleDownStabilizationSeconds: 60,
  cooldownSeconds: 120,
  tolerance: 0.1,
};

/** Runs a timeline of (second, ready, unacked) observations, applying each decision to `current`. */
function run(policy: ScalingPolicy, start: number, steps: [number, number, number | undefined][]) {
  let state: ScalingState | undefined;
  let current = start;
  const out: number[] = [];
  for (const [second, ready, unacked] of steps) {
    const d = decideScale(policy, { ready, unacked, currentReplicas: current, now: second * 1000 }, state);
    state = d.state;
    current = d.desiredReplicas;
    out.push(current);
  }
  return out;
}

describe('decideScale properties', () => {
  it('always stays within [minReplicas, maxReplicas]', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.nat(10_000),
        fc.option(fc.nat(1_000), { nil: undefined }),
        fc.nat(30),
        fc.nat(1_000_000),
        (policy, ready, unacked, current, now) => {
          const d = decideScale(policy, { ready, unacked, currentReplicas: current, now }, undefined);
          expect(d.desiredReplicas).toBeGreaterThanOrEqual(policy.minReplicas);
          expect(d.desiredReplicas).toBeLessThanOrEqual(policy.maxReplicas);
        },
      ),
    );
  });

  it('scales up at once to ceil(depth / messagesPerReplica), capped at maxReplicas', () => {
    fc.assert(
      fc.property(policyArb, fc.nat(10_000), fc.nat(1_000), fc.nat(30), (policy, ready, unacked, current) => {
        const depth = ready + unacked;
        const wanted = Math.min(policy.maxReplicas, replicasFor(depth, policy.messagesPerReplica));
        const d = decideScale(policy, { ready, unacked, currentReplicas: current, now: 0 }, undefined);
        if (wanted > current && (current > 0 || depth > policy.activationMessages)) {
          expect(d.desiredReplicas).toBe(Math.max(wanted, policy.minReplicas));
        }
        expect(d.desiredReplicas).toBeGreaterThanOrEqual(Math.min(current, policy.maxReplicas, Math.max(wanted, policy.minReplicas)));
      }),
    );
  });

  it('never scales to zero while a message is ready or unacked, or unacked is unknown', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(fc.tuple(fc.nat(100), fc.option(fc.nat(20), { nil: undefined })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        (policy, observations, start) => {
          let state: ScalingState | undefined;
          let current = Math.min(Math.max(start, policy.minReplicas), policy.maxReplicas);
          observations.forEach(([ready, unacked], i) => {
            const d = decideScale(policy, { ready, unacked, currentReplicas: current, now: i * 1000_000 }, state);
            state = d.state;
            if (ready + (unacked ?? 0) > 0 || unacked === undefined) {
              if (current > 0) expect(d.desiredReplicas).toBeGreaterThan(0);
            }
            current = d.desiredReplicas;
          });
        },
      ),
    );
  });

  it('stays at zero while the depth is not above activationMessages', () => {
    fc.assert(
      fc.property(policyArb, fc.nat(50), (p, depth) => {
        const policy = { ...p, minReplicas: 0 };
        const d = decideScale(policy, { ready: depth, unacked: 0, currentReplicas: 0, now: 0 }, undefined);
        expect(d.desiredReplicas).toBe(depth > policy.activationMessages ? Math.min(policy.maxReplicas, replicasFor(depth, policy.messagesPerReplica)) : 0);
      }),
    );
  });

  it('does not scale down when the depth falls by no more than the tolerance', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 5_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (p, depth, f) => {
        const policy = { ...p, scaleDownStabilizationSeconds: 0, cooldownSeconds: 0 };
        const current = replicasFor(depth, policy.messagesPerReplica);
        fc.pre(current >= policy.minReplicas && current <= policy.maxReplicas);
        const lower = Math.ceil(depth * (1 - policy.tolerance * f));
        const d = decideScale(policy, { ready: lower, unacked: 0, currentReplicas: current, now: 0 }, { window: [], lastBusyAt: 0 });
        expect(d.desiredReplicas).toBe(current);
      }),
    );
  });

  it('during the window, a scale-down never goes below the highest recommendation of the window', () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.nat(500), { minLength: 2, maxLength: 40 }), (p, depths) => {
        const policy = { ...p, scaleDownStabilizationSeconds: 10, cooldownSeconds: 10_000 };
        let state: ScalingState | undefined;
        let current = policy.minReplicas;
        const recs: { at: number; rec: number }[] = [];
        depths.forEach((depth, i) => {
          const now = i * 1000;
          const d = decideScale(policy, { ready: depth, unacked: 0, currentReplicas: current, now }, state);
          recs.push({ at: now, rec: d.recommendation });
          if (d.desiredReplicas < current) {
            const highest = Math.max(...recs.filter((r) => now - r.at < 10_000).map((r) => r.rec));
            expect(d.desiredReplicas).toBe(Math.min(current, highest));
          }
          state = d.state;
          current = d.desiredReplicas;
        });
      }),
    );
  });
});

describe('decideScale over time', () => {
  it('scales up on the first poll that sees a backlog', () => {
    expect(run(base, 1, [[0, 312, 0]])).toEqual([10]);
    expect(run(base, 1, [[0, 35, 2]])).toEqual([4]);
  });

  it('holds a scale-down for the stabilization window, then applies the highest recommendation in it', () => {
    const steps: [number, number, number][] = [
      [0, 80, 0], // 8
      [10, 20, 0], // recommends 3 (20 / 9 per replica with tolerance), window holds 8
      [30, 50, 0], // recommends 6
      [59, 10, 0], // still within 60 s of the 8 at t=0
      [61, 10, 0], // the 8 left the window: highest left is 6
      [91, 10, 0], // the 6 left: 2
    ];
    expect(run(base, 1, steps)).toEqual([8, 8, 8, 8, 6, 2]);
  });

  it('goes to zero only after cooldownSeconds with an empty queue and no unacked message', () => {
    const policy = { ...base, scaleDownStabilizationSeconds: 0, cooldownSeconds: 30 };
    expect(
      run(policy, 2, [
        [0, 0, 1], // a job in hand: busy
        [10, 0, 0], // empty since 10 s... last busy at 0
        [29, 0, 0],
        [31, 0, 0], // 31 s after the last busy observation
      ]),
    ).toEqual([1, 1, 1, 0]);
  });

  it('never goes to zero when unacked is unknown', () => {
    const policy = { ...base, scaleDownStabilizationSeconds: 0, cooldownSeconds: 1 };
    expect(
      run(policy, 1, [
        [0, 0, undefined],
        [100, 0, undefined],
        [1000, 0, undefined],
      ]),
    ).toEqual([1, 1, 1]);
  });

  it('leaves zero only above activationMessages', () => {
    const policy = { ...base, activationMessages: 5 };
    expect(
      run(policy, 0, [
        [0, 5, 0],
        [1, 6, 0],
      ]),
    ).toEqual([0, 1]);
  });

  it('does not scale down right after a controller restart (the current replicas seed the window)', () => {
    expect(
      run(base, 6, [
        [0, 0, 0],
        [59, 0, 0],
        [61, 0, 0],
      ]),
    ).toEqual([6, 6, 1]);
  });

  it('applies a lowered maxReplicas at once', () => {
    expect(run({ ...base, maxReplicas: 3 }, 8, [[0, 100, 0]])).toEqual([3]);
  });

  it('does not flap when the depth wobbles around a boundary', () => {
    const policy = { ...base, scaleDownStabilizationSeconds: 0 };
    const wobble: [number, number, number][] = Array.from({ length: 20 }, (_, i) => [i, i % 2 === 0 ? 41 : 38, 0]);
    const replicas = run(policy, 1, wobble);
    expect(new Set(replicas.slice(1))).toEqual(new Set([5]));
  });
});

describe('decideScale reasons', () => {
  it('names minReplicas, not the messages, when the floor is what raises the replicas', () => {
    const d = decideScale({ ...base, minReplicas: 1 }, { ready: 0, unacked: 0, currentReplicas: 0, now: 0 }, undefined);
    expect(d.desiredReplicas).toBe(1);
    expect(d.reason).toBe('scale up to 1: minReplicas (0 messages need 0)');
  });

  it('names the messages when they are what raises the replicas', () => {
    const d = decideScale(base, { ready: 35, unacked: 0, currentReplicas: 1, now: 0 }, undefined);
    expect(d.reason).toBe('scale up: 35 messages need 4');
  });
});
