/** Bundled by test/ots/browser.test.ts for the browser: runs the format checks on the page's input. */
import { type CheckInput, runFormatChecks } from './portable-checks.js';

const page = globalThis as unknown as { checkInput: CheckInput; checkResults?: Record<string, string> };
page.checkResults = runFormatChecks(page.checkInput);
