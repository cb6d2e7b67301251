// SocialGov's one script (an ES module, loaded with type="module"): tells govuk-frontend's CSS that JavaScript
// runs, then starts its components (error summary focus, character counts, notification banners, ...).
// Every page works without it.
import { initAll } from "./govuk-frontend.min.js";

document.body.classList.add("govuk-frontend-supported");
initAll();
