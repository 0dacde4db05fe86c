/**
 * PREPARED: a prepareOnly run staged the node's package; NOT_STARTED: the window never reached the node;
 * ROLLED_BACK: it failed and was restored to its old version; NEEDS_ATTENTION: a human must look (aborted,
 * or its rollback failed).
 */
export type NodeStatus = 'UPGRADED' | 'SKIPPED' | 'PREPARED' | 'ROLLED_BACK' | 'NEEDS_ATTENTION' | 'FAILED' | 'NOT_STARTED' | 'IN_PROGRESS';
