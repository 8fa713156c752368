/**
 * `node:http`, taken with `process.getBuiltinModule` instead of `import`. When Node 24 imports
 * `node:http` as an ES module, it builds the namespace from every export. That reads the lazy
 * `WebSocket`, `CloseEvent` and `MessageEvent` getters, which load undici, http2 and web streams the
 * daemon never uses: 13 MB of RSS in a bare process, and 2 MB in the idle daemon 12 s after start
 * (heap -1.8 MB, external -1.1 MB; docs/benchmarks.md). `getBuiltinModule` returns the module
 * object `require` returns, so nock's interceptors are still seen, and leaves the getters lazy.
 * Node 20 has no such getters. Production code takes `http` from here (eslint.config.js enforces
 * it); `import type` from `node:http` is still fine.
 */
export const http = process.getBuiltinModule('node:http');
