/** A loopback port that was free a moment ago (for a server whose URI must be known before it starts). */
export { freeLoopbackPort as freePort } from '../../src/bitcoin/free-port.js';
