// The npm package's whole-bridge handler, mounted by the example Node server
// (examples/node-server.mjs) and reached over loopback: the same behaviour
// suite the Worker passes.

import { behaviourSuite } from '../support/behaviour.mjs';
import { nodeServerTarget } from '../support/helpers.mjs';

behaviourSuite('the example Node server (createBridge)', nodeServerTarget);
