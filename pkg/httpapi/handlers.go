package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/deployment"
)

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 64 << 10

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	if err := jsonContent(r); err != nil {
		return err
	}
	raw, err := readBody(r.Body)
	if err != nil {
		return err
	}
	in, err := DecodeCreate(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	idem, err := idempotency(r, raw)
	if err != nil {
		return err
	}
	acc, err := s.Service.Create(r.Context(), keyFrom(r.Context()).OrgID, in, idem)
	if err != nil {
		return err
	}
	markReplay(w, acc)
	w.Header().Set("Location", deploymentsPath+acc.DeploymentID)
	writeData(w, http.StatusAccepted, createdView{
		DeploymentID: acc.DeploymentID, OperationID: acc.OperationID,
		Links: createLinks{Deployment: deploymentsPath + acc.DeploymentID, Operation: operationsPath + acc.OperationID},
	})
	return nil
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := intParam(q.Get("page"), q.Has("page"), 1, 1, 0, "Invalid page. Must be an integer >= 1")
	if err != nil {
		return err
	}
	perPage, err := intParam(q.Get("per_page"), q.Has("per_page"), deployment.DefaultPerPage, 1, deployment.MaxPerPage,
		"Invalid per_page. Must be an integer between 1 and 100")
	if err != nil {
		return err
	}
	p, err := s.Service.List(r.Context(), keyFrom(r.Context()).OrgID, page, perPage)
	if err != nil {
		return err
	}
	items := make([]deploymentView, 0, len(p.Items))
	for _, d := range p.Items {
		items = append(items, viewDeployment(d))
	}
	writeData(w, http.StatusOK, listView{Items: items, Pagination: paginationView{
		Page: p.Page, PerPage: p.PerPage, Total: p.Total, Pages: p.Pages(),
	}})
	return nil
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Service.Get(r.Context(), keyFrom(r.Context()).OrgID, r.PathValue("deployment_id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, viewDeployment(d))
	return nil
}

func (s *Server) deleteDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("deployment_id")
	idem, err := idempotency(r, nil)
	if err != nil {
		return err
	}
	acc, err := s.Service.Delete(r.Context(), keyFrom(r.Context()).OrgID, id, idem)
	if err != nil {
		return err
	}
	markReplay(w, acc)
	writeData(w, http.StatusAccepted, deletedView{
		OperationID: acc.OperationID,
		Links:       deleteLinks{Operation: operationsPath + acc.OperationID, Deployment: deploymentsPath + id},
	})
	return nil
}

// IdempotencyHeader names the client's retry key.
const IdempotencyHeader = "Idempotency-Key"

// idempotency reads the optional Idempotency-Key. The fingerprint binds the
// key to this exact request: method, path and body.
func idempotency(r *http.Request, body []byte) (*deployment.Idempotency, error) {
	key := r.Header.Get(IdempotencyHeader)
	if _, present := r.Header[IdempotencyHeader]; !present {
		return nil, nil
	}
	if len(key) < 1 || len(key) > 255 {
		return nil, errBadIdempotencyKey
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return nil, errBadIdempotencyKey
		}
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return &deployment.Idempotency{Key: key, Fingerprint: hex.EncodeToString(h.Sum(nil))}, nil
}

var errBadIdempotencyKey = apierr.New(apierr.InvalidRequest, "Invalid Idempotency-Key. Must be 1 to 255 printable ASCII characters")

func markReplay(w http.ResponseWriter, acc deployment.Accepted) {
	if acc.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
}

func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) error {
	op, err := s.Service.Operation(r.Context(), keyFrom(r.Context()).OrgID, r.PathValue("operation_id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, viewOperation(op))
	return nil
}

// intParam parses an optional positive integer query parameter; hi 0 means no upper bound.
func intParam(v string, present bool, def, lo, hi int, msg string) (int, error) {
	if !present {
		return def, nil
	}
	if v == "" || len(v) > 9 {
		return 0, apierr.New(apierr.InvalidRequest, msg)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, apierr.New(apierr.InvalidRequest, msg)
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || (hi > 0 && n > hi) {
		return 0, apierr.New(apierr.InvalidRequest, msg)
	}
	return n, nil
}

// jsonContent refuses a body declared as something other than JSON; a
// missing Content-Type is accepted, as curl users often omit it.
func jsonContent(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return apierr.New(apierr.UnsupportedMediaType, "Content-Type must be application/json")
}

// readBody reads at most MaxBodyBytes.
func readBody(body io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		return nil, apierr.New(apierr.InvalidRequest, "Could not read request body")
	}
	if len(raw) > MaxBodyBytes {
		return nil, apierr.New(apierr.PayloadTooLarge, "Request body must not exceed 65536 bytes")
	}
	return raw, nil
}

// DecodeCreate reads and validates a create body. Exported for fuzzing.
func DecodeCreate(body io.Reader) (deployment.CreateInput, error) {
	raw, err := readBody(body)
	if err != nil {
		return deployment.CreateInput{}, err
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return deployment.CreateInput{}, apierr.New(apierr.InvalidRequest, "Request body is required")
	}
	if trimmed[0] != '{' {
		return deployment.CreateInput{}, apierr.New(apierr.InvalidRequest, "Request body must be a JSON object")
	}
	// A map rather than DisallowUnknownFields: unknown keys are found without
	// reading encoding/json's error text.
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&fields); err != nil {
		return deployment.CreateInput{}, apierr.New(apierr.InvalidRequest, "Request body is not valid JSON")
	}
	if dec.More() {
		return deployment.CreateInput{}, apierr.New(apierr.InvalidRequest, "Request body must contain a single JSON object")
	}
	for k := range fields {
		if k != "app_type" && k != "name" {
			return deployment.CreateInput{}, apierr.New(apierr.InvalidRequest, "Unknown field "+quoteShort(k)+". Allowed: app_type, name")
		}
	}
	var in deployment.CreateInput
	if !jsonString(fields["app_type"], (*string)(&in.AppType)) || !in.AppType.Valid() {
		return deployment.CreateInput{}, apierr.ErrInvalidAppType
	}
	if name, ok := fields["name"]; ok && string(name) != "null" {
		if !jsonString(name, &in.Name) {
			return deployment.CreateInput{}, apierr.New(apierr.InvalidRequest, "Invalid name. Must be a string")
		}
		if err := deployment.ValidateName(in.Name); err != nil {
			return deployment.CreateInput{}, err
		}
	}
	return in, nil
}

// jsonString decodes raw into out if it is a JSON string.
func jsonString(raw json.RawMessage, out *string) bool {
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, out) == nil
}

// quoteShort quotes client text for an error message, cut to a sane length.
func quoteShort(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "..."
	}
	return strconv.Quote(s)
}
