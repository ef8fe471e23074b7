/** Starting and stopping a node's parts: reverse order, unwinding on a failed start, no step skipped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifecycle } from '../../src/daemon/lifecycle.js';
import { memoryLog } from '../helpers/temp-dir.js';

describe('Lifecycle', () => {
  it('stops what started, last first, once however often it is asked', async () => {
    const order: string[] = [];
    const life = new Lifecycle(memoryLog());
    await life.start(async () => {
      for (const part of ['lock', 'calendar', 'server']) life.onStop(part, () => order.push(part));
    });
    await Promise.all([life.stop(), life.stop()]);
    assert.deepEqual(order, ['server', 'calendar', 'lock']);
  });

  it('a part that fails to start stops those before it, and its error comes out', async () => {
    const order: string[] = [];
    const life = new Lifecycle(memoryLog());
    await assert.rejects(
      life.start(async () => {
        life.onStop('lock', () => order.push('lock'));
        life.onStop('calendar', async () => order.push('calendar'));
        throw new Error('listen EADDRINUSE');
      }),
      /EADDRINUSE/,
    );
    assert.deepEqual(order, ['calendar', 'lock']);
  });

  it('a step that fails to stop is logged and the others still run', async () => {
    const order: string[] = [];
    const log = memoryLog();
    const life = new Lifecycle(log);
    life.onStop('lock', () => order.push('lock'));
    life.onStop('bitcoin node', () => {
      throw new Error('already gone');
    });
    life.onStop('server', () => order.push('server'));
    await life.stop();
    assert.deepEqual(order, ['server', 'lock']);
    assert.deepEqual(
      log.lines.map((l) => [l.level, l.msg, (l.obj as { part: string }).part]),
      [['error', 'stopping: a part failed to stop', 'bitcoin node']],
    );
  });
});
