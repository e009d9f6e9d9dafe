import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Guards against a hung test, not a budget: real ostree, gpg and brokers on a busy 2-core machine
    // take several times what they take on a quiet one (promotions with static deltas: 18 s seen under load).
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration tests share one RabbitMQ and spawn daemons; keep files from starving each other on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
