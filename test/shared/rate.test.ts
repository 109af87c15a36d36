import { describe, expect, it } from 'vitest';
import { formatRate, parseRate } from '../../shared/rate.ts';

describe('bit rates', () => {
  it('reads 5M, 500k, 1G and plain bits per second with decimal multipliers, as iperf3 does', () => {
    expect(parseRate('5M')).toBe(5_000_000);
    expect(parseRate('500k')).toBe(500_000);
    expect(parseRate('1G')).toBe(1_000_000_000);
    expect(parseRate('5000000')).toBe(5_000_000);
    expect(parseRate('2.5m')).toBe(2_500_000);
    expect(parseRate('10Mbps')).toBe(10_000_000);
  });

  it('refuses text that is not a rate above zero', () => {
    for (const bad of ['', 'fast', '5Q', '-5M', '0', 'M5', '5 M M']) expect(parseRate(bad)).toBeUndefined();
  });

  it('formats rates for people', () => {
    expect(formatRate(941_234_567)).toBe('941 Mbit/s');
    expect(formatRate(5_000_000)).toBe('5 Mbit/s');
    expect(formatRate(23_530_217_814)).toBe('23.5 Gbit/s');
    expect(formatRate(12_500)).toBe('12.5 kbit/s');
    expect(formatRate(10)).toBe('10 bit/s');
  });
});
