/** A broker instance a spec starts for itself (free port, temporary data), to restart it at will. */
export interface PrivateBroker {
  /** Where clients connect (stable across restarts). */
  readonly url: string;
  readonly port: number;
  /**
   * Stops the broker (gracefully, data kept), keeps it down for at least `downFor` ms (0 when
   * not given) and starts it again; resolves once it accepts connections.
   */
  restart(downFor?: number): Promise<void>;
  /** Stops it for good and removes its data. Safe to call more than once. */
  dispose(): Promise<void>;
}
