import { describeFaultSlice, FAULT_SLICE } from '../support/fault-slice.js';

describeFaultSlice('fault matrix (representative slice, first half)', FAULT_SLICE.slice(0, 5));
