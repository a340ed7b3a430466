// Starts Swagger UI on the API documentation page (booking/web/openapi.py). A file of its own
// because the site's Content-Security-Policy refuses inline script. The schema's address is
// on the container; validatorUrl null: Swagger UI would otherwise send the schema elsewhere.
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: container.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
