/** The request histogram serves what prom-client's Histogram serves for the same observations. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { RequestHistogram } from '../../src/daemon/request-histogram.js';

const CONFIG = {
  name: 'otsd_test_request_duration_seconds',
  help: 'Requests',
  buckets: [0.001, 0.02, 1, 15],
};

describe('RequestHistogram', () => {
  it("serves prom-client's Histogram text and JSON for any observations", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom('/digest', '/timestamp/:hex', 'unmatched'),
            fc.constantFrom('GET', 'POST'),
            fc.constantFrom(200, 404, 503),
            fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(0.001, 1, 15)),
          ),
          { maxLength: 60 },
        ),
        async (observations) => {
          const theirs = new Registry();
          const histogram = new Histogram({
            ...CONFIG,
            labelNames: ['route', 'method', 'status'] as const,
            registers: [theirs],
          });
          const ours = new Registry();
          const requests = new RequestHistogram({ ...CONFIG, registers: [ours] });
          for (const [route, method, status, seconds] of observations) {
            histogram.observe({ route, method, status: String(status) }, seconds);
            requests.observe(route, method, status, seconds);
          }
          assert.equal(await ours.metrics(), await theirs.metrics());
          assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
        },
      ),
      { numRuns: 100 },
    );
  });
});
