import { describeFaultSlice, FAULT_SLICE } from '../support/fault-slice.js';

describeFaultSlice('fault matrix (representative slice, second half)', FAULT_SLICE.slice(5));
