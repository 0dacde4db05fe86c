/** CloudFormation metadata key naming the handler module of a function (lets the local rehearsal run it in-process). */
export const HANDLER_METADATA_KEY = 'fleet-upgrade:handler';

/** CloudFormation metadata key saying which of the stack's state machines a StateMachine resource is. */
export const STATE_MACHINE_METADATA_KEY = 'fleet-upgrade:state-machine';
