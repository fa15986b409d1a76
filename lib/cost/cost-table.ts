import type { CostEstimate } from './cost-estimate';

/** Renders a cost estimate as a plain-text table a person reads before deploying. */
export class CostTable {
  public static format(estimate: CostEstimate): string {
    const lines: string[] = [];
    const usd = (v: number) => `$${v.toFixed(2)}`;
    const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    const table = (header: string[], rows: string[][]) => {
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      lines.push(row(header, widths), row(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => row(r, widths)));
    };
    const mark = (unverified: boolean) => (unverified ? ' *' : '');

    lines.push(`Cost estimate, ${estimate.region}, list prices as of ${estimate.asOf} (USD)`, '');
    lines.push(`Idle (nothing running, no request served): ${usd(estimate.idleMonthlyUsd)} a month` +
      (estimate.idleMonthlyLaterUsd > estimate.idleMonthlyUsd ? ` (${usd(estimate.idleMonthlyLaterUsd)} once rotated keys have rotated twice)` : ''));
    if (estimate.idle.length) {
      table(['resource', 'type', 'qty', 'unit price', 'monthly'], estimate.idle.map((i) => [
        i.logicalId, i.resourceType, String(i.quantity), `${usd4(i.unitPriceUsd)}/${i.unit}${mark(i.unverified)}`, usd(i.monthlyUsd),
      ]));
    }
    lines.push('', `Serving instances: ${usd(estimate.servingMonthlyUsd)} a month`);
    if (estimate.serving.length) {
      table(['endpoint', 'type', 'qty', 'unit price', 'monthly'], estimate.serving.map((i) => [
        i.logicalId, i.note?.split(',')[0] ?? i.resourceType, String(i.quantity), `${usd4(i.unitPriceUsd)}/${i.unit}${mark(i.unverified)}`, usd(i.monthlyUsd),
      ]));
    }
    if (estimate.run.length) {
      lines.push('', `Per run: ${usd(estimate.runUsd)}`);
      table(['item', 'qty', 'unit price', 'cost'], estimate.run.map((r) => [
        r.name, `${round2(r.quantity)} ${r.unit}`, `${usd4(r.unitPriceUsd)}/${r.unit}${mark(r.unverified)}`, usd(r.usd),
      ]));
    }
    if (estimate.worstCase.length) {
      lines.push('', `Worst case of one run (attempts x attempt timeout x on-demand price): ${usd(estimate.worstCaseUsd)}` +
        (estimate.worstCaseIncomplete ? ' plus unbounded or unknown jobs below' : ''));
      table(['job definition', 'priced on', 'attempts x hours x copies', 'cost'], estimate.worstCase.map((w) => [
        w.logicalId, w.instanceType ?? w.description, `${w.attempts} x ${w.attemptHours ?? 'no timeout'} x ${w.copies}`,
        w.usd === undefined ? 'UNBOUNDED/UNKNOWN' : usd(w.usd),
      ]));
    }
    if (estimate.unknown.length) {
      lines.push('', 'UNKNOWN (not in any total):');
      for (const u of estimate.unknown) lines.push(`  ${u.logicalId} (${u.resourceType}): ${u.reason}`);
    }
    lines.push('', 'Assumptions:');
    for (const a of estimate.assumptions) lines.push(`  - ${a}`);
    if (estimate.unverifiedPrices.length) {
      lines.push(`  * unverified price (not confirmed on the AWS page when the table was written): ${estimate.unverifiedPrices.join(', ')}`);
    }
    return lines.join('\n') + '\n';
  }

  private constructor() {}
}

function usd4(value: number): string {
  return `$${Number(value.toPrecision(4))}`;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
