// The statistics' part of a runtime's configuration (serve, Lambda), from the option table
// (functions/stats/ uses it).

import type { OptionReading } from './option-reader.ts';

export interface StatisticsSettings {
  /** Days a bucket is kept after its hour ends; 0 turns statistics off. */
  retentionDays: number;
  /** Seconds between two flushes. */
  flushSeconds: number;
}

export function statisticsOptions(reading: OptionReading): StatisticsSettings {
  return Object.freeze({ retentionDays: reading.get('stats-retention-days'), flushSeconds: reading.get('stats-flush-seconds') });
}
