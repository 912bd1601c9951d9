package httpapi

import (
	"net/http"

	"github.com/onvera/deployments/pkg/openapi"
)

// getOpenAPI serves the OpenAPI document, without a key.
func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	doc, err := openapi.JSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return nil
}
