// Loads the WASM module; its start function mounts the app.
import init from "/insights_frontend.js";
init({ module_or_path: "/insights_frontend_bg.wasm" });
