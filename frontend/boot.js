// Loads the WASM module; its start function mounts the app. Errors reported on the console are also kept in
// window.__errors, so browser tests can save them next to their screenshots.
window.__errors = [];
const consoleError = console.error.bind(console);
console.error = (...args) => { window.__errors.push(args.map(String).join(" ")); consoleError(...args); };
import("/insights_frontend.js").then((m) => m.default({ module_or_path: "/insights_frontend_bg.wasm" }));
