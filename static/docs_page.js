// /docs: Swagger UI over this service's /openapi.json. No validator badge (it would call validator.swagger.io).
globalThis.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#docs",
  deepLinking: true,
  displayOperationId: true,
  validatorUrl: null,
  presets: [globalThis.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
