// vite.config.ts - the dashboard's build: dist/ (index.html and assets/NAME-HASH.*),
// which `kizuna serve --web-root web/dist` serves. `npm run dev` proxies the API
// to a server on 127.0.0.1:8080.
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
