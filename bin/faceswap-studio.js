#!/usr/bin/env node
// The faceswap-studio command. The engine is TypeScript run through tsx (no separate build step for the CLI).
import { register } from 'tsx/esm/api';

register();
await import('../src-main/cli/main.ts');
