/** Tag naming the cluster a node (EC2 instance or hybrid managed instance) belongs to: discovery and the SendCommand permission both key on it. */
export const CLUSTER_TAG = 'fleet-upgrade:cluster';
/** Tag listing a node's roles, comma- or space-separated: `dea` or `primary,controller,router`. */
export const ROLES_TAG = 'fleet-upgrade:roles';
