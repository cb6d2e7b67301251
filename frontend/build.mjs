// `npm run build` (make assets): compiles src/app.scss and copies the scripts into api/static/.
// The app serves what is committed there; it never runs npm.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";

const out = "../api/static";
mkdirSync(`${out}/css`, { recursive: true });
mkdirSync(`${out}/js`, { recursive: true });
execFileSync("node_modules/.bin/sass", [
  "--no-source-map", "--style=compressed", "--quiet-deps", "--load-path=node_modules/govuk-frontend/dist",
  "src/app.scss", `${out}/css/app.css`,
], { stdio: "inherit" });
copyFileSync("src/app.js", `${out}/js/app.js`);
copyFileSync("node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js", `${out}/js/govuk-frontend.min.js`);
copyFileSync("node_modules/htmx.org/dist/htmx.min.js", `${out}/js/htmx.min.js`);
