package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/onvera/deployments/pkg/apierr"
)

// envelope is the success body: {"data": ...}.
type envelope struct {
	Data any `json:"data"`
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apierr.Code `json:"code"`
	Message string      `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // bodies are JSON, not HTML: keep ">=" readable
	_ = enc.Encode(v)
}

func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, envelope{Data: data})
}

// writeError is the one place an error becomes a response. Anything that is
// not an *apierr.Error is logged in full and answered with a generic 500
// carrying only the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := apierr.As(err)
	if !ok {
		id := RequestID(r.Context())
		s.logger().ErrorContext(r.Context(), "internal error", slog.String("request_id", id), slog.String("err", err.Error()))
		e = apierr.New(apierr.Internal, "Internal server error. Request ID: "+id)
	}
	writeJSON(w, e.Status(), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message}})
}
