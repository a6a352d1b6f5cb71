/**
 * One service instance of the chaos run: src/main.ts as it runs in production, plus an exit when the run that
 * started it is gone (even killed -9), so that no instance outlives it.
 */
import { exitWithParent } from '../../scripts/lifecycle';

exitWithParent();
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('../../src/main');
