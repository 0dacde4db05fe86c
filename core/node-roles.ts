/** What role ordering needs of a node: its id and roles (the input schema's NodeSpec has these and more). */
export interface NodeRoles {
  id: string;
  roles: readonly string[];
}
