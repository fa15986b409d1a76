import { PriceEntry, PriceTable } from '../prices';

/** Hours in a month, as the AWS Pricing Calculator counts them. */
export const HOURS_PER_MONTH = 730;

/** A price found in the table for one region. */
export interface FoundPrice {
  readonly usd: number;
  readonly entry: PriceEntry;
}

/** The price of `key` in `region`, or undefined when the table does not know it (unknown, never zero). */
export function findPrice(table: PriceTable, key: string, region: string): FoundPrice | undefined {
  const found = table.prices[key];
  const usd = found?.usd[region];
  return found && usd !== undefined ? { usd, entry: found } : undefined;
}
