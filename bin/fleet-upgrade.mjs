#!/usr/bin/env node
// Launcher for global installs: runs the TypeScript entry point through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./fleet-upgrade.ts');
