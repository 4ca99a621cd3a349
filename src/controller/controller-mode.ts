/**
 * One way the controller runs its scalers: local worker processes from a file, or QueueScalers in
 * a cluster. The controller service (server.ts) serves both the same way, through this.
 */
export interface ControllerMode {
  /** What GET /scalers answers: each scaler's spec and status, and what the mode adds (the leader). */
  scalers(): Record<string, unknown>;
  /** The checks /readyz reports for the mode. */
  readiness(): Record<string, boolean>;
  /** Stops the loops and what they drive (locally: drains the worker processes). */
  stop(): Promise<void>;
}
