/// <reference types="node" />
// The portal's build, and its development server. In the stack the edge serves `dist/` and routes
// `/api/<service>/*` to the services; `npm run dev` does the same routing itself (prefix stripped), to the
// ports of the developer's own stack (the same DAIKO_*_PORT variables the stack reads).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const env = process.env;

function service(port: string | undefined, fallback: number) {
  const prefix = (name: string) => new RegExp(`^/api/${name}`);
  return (name: string) => ({
    target: `http://127.0.0.1:${port ?? String(fallback)}`,
    changeOrigin: true,
    rewrite: (path: string) => path.replace(prefix(name), ""),
  });
}

export default defineConfig({
  plugins: [react()],
  build: { sourcemap: true, chunkSizeWarningLimit: 600 },
  server: {
    port: Number(env.DAIKO_PORTAL_DEV_PORT ?? 5173),
    proxy: {
      "/api/orders": service(env.DAIKO_ORDERS_PORT, 8101)("orders"),
      "/api/deposits": service(env.DAIKO_DEPOSITS_PORT, 8102)("deposits"),
      "/api/messaging": service(env.DAIKO_MESSAGING_PORT, 8103)("messaging"),
    },
  },
});
