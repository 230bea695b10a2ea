/** The payload of one soak transaction: its number, 1…N (the transaction id is the same number). */
export interface SoakMessage {
  readonly n: number;
}
