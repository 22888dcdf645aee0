// Starts Swagger UI on /docs. Loaded as a file (no inline script), so the page's
// Content-Security-Policy can forbid every script that is not one of this server's files.
const openapi = document.querySelector('meta[name="wh-openapi"]').content;

window.SwaggerUIBundle({
  url: openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // No badge from an outside validator service: the page reaches only this server.
  validatorUrl: null,
  // A key typed into "Authorize" stays in the page's memory, never in the browser's storage.
  persistAuthorization: false,
});
