package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/apidoc"
	"github.com/rolegate/rolegate/models"
)

// docsCSP lets the documentation page run the vendored Redoc bundle and
// nothing else: scripts, styles, fonts and fetches from this server only.
// Redoc's styled-components inject <style> elements, hence the inline
// styles; every other response keeps the headers middleware's
// default-src 'none'.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'"

// openAPI serves the OpenAPI document, converted from YAML at startup.
func (h *handler) openAPI(c *gin.Context) error {
	if h.specErr != nil {
		return models.Internal(h.specErr)
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", h.spec)
	return nil
}

// docsPage serves the page that renders the OpenAPI document.
func (h *handler) docsPage(c *gin.Context) error {
	c.Header("Content-Security-Policy", docsCSP)
	c.Header("Content-Type", "text/html; charset=utf-8") // c.Data keeps the middleware's JSON type
	c.Data(http.StatusOK, "text/html; charset=utf-8", apidoc.Page())
	return nil
}

// docsAsset serves the documentation page's vendored scripts from the
// binary, so that the page needs no network.
func (h *handler) docsAsset(c *gin.Context) error {
	data, mediaType, ok := apidoc.Asset(c.Param("file"))
	if !ok {
		return errNotFound
	}
	c.Header("Content-Security-Policy", docsCSP)
	c.Header("Cache-Control", "public, max-age=3600")
	c.Header("Content-Type", mediaType)
	c.Data(http.StatusOK, mediaType, data)
	return nil
}
