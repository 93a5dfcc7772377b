// Copies the browser assets exoshare serves from node_modules into the package's static folder,
// so a fresh machine runs the web app without Node.js and the browser never loads from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";

const assets = [["node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"]];
const target = "src/exoshare/web/static/vendor";
mkdirSync(target, { recursive: true });
for (const [source, name] of assets) {
  copyFileSync(source, `${target}/${name}`);
  console.log(`vendored ${source} -> ${target}/${name}`);
}
