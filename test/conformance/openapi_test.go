package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/httpapi"
)

// validator checks real responses against the document the gateway serves.
type validator struct {
	t      *testing.T
	base   string
	doc    *openapi3.T
	router routers.Router
	seen   map[string]map[int]bool // operationId -> statuses validated
}

// newValidator fetches GET /api/v1/openapi.json without a key, so the served
// document is the one under test.
func newValidator(t *testing.T, base string) *validator {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{t: t, base: base, doc: doc, router: router, seen: map[string]map[int]bool{}}
}

type call struct {
	method, path, key string
	body              string
	header            map[string]string
	want              int
}

// do sends c, checks the status, validates the response against the document
// (an undocumented status fails), and returns the decoded body.
func (v *validator) do(c call) map[string]any {
	v.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, v.base+c.path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, val := range c.header {
		req.Header.Set(k, val)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	name := c.method + " " + c.path
	if resp.StatusCode != c.want {
		v.t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode, c.want, raw)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		v.t.Errorf("%s: no X-Request-Id", name)
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		// Not an operation of the document: must be the documented 404 or 405.
		v.unrouted(name, resp, raw)
	} else {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(raw)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			v.t.Errorf("%s -> %d does not conform to openapi.yaml: %v\nbody: %s", name, resp.StatusCode, err, raw)
		}
		id := route.Operation.OperationID
		if v.seen[id] == nil {
			v.seen[id] = map[int]bool{}
		}
		v.seen[id][resp.StatusCode] = true
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// unrouted validates a response to a path or method the document does not
// list against components.responses NotFound or MethodNotAllowed.
func (v *validator) unrouted(name string, resp *http.Response, raw []byte) {
	v.t.Helper()
	comp := map[int]string{404: "NotFound", 405: "MethodNotAllowed"}[resp.StatusCode]
	if comp == "" {
		v.t.Errorf("%s: status %d for a request outside the document; only 404 and 405 are documented", name, resp.StatusCode)
		return
	}
	r := v.doc.Components.Responses[comp].Value
	for h, ref := range r.Headers {
		if ref.Value.Required && resp.Header.Get(h) == "" {
			v.t.Errorf("%s: %d without required header %s", name, resp.StatusCode, h)
		}
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		v.t.Errorf("%s: body is not JSON: %s", name, raw)
		return
	}
	if err := r.Content.Get("application/json").Schema.Value.VisitJSON(body, openapi3.EnableJSONSchema2020()); err != nil {
		v.t.Errorf("%s: %d does not conform to components.responses.%s: %v", name, resp.StatusCode, comp, err)
	}
	v.seen[comp] = map[int]bool{resp.StatusCode: true}
}

func dataString(t *testing.T, body map[string]any, field string) string {
	t.Helper()
	d, _ := body["data"].(map[string]any)
	s, _ := d[field].(string)
	if s == "" {
		t.Fatalf("no data.%s in %v", field, body)
	}
	return s
}

// TestResponsesConform exercises every route's success and error answers on a
// live gateway and validates each against the served document.
func TestResponsesConform(t *testing.T) {
	t.Parallel()
	a := start(t, func(c *config.Config) { c.ProvisionDelay = 500 * time.Millisecond })
	v := newValidator(t, a.base)
	full := a.key(t, "org_conf", apikey.AllScopes...)
	reader := a.key(t, "org_conf", apikey.ScopeRead)
	writer := a.key(t, "org_conf", apikey.ScopeWrite)
	other := a.key(t, "org_other", apikey.AllScopes...)
	const unknownID = "550e8400-e29b-41d4-a716-446655440000"
	const unknownOp = "op_660e8400-e29b-41d4-a716-446655440001"

	v.do(call{method: "GET", path: "/api/v1/openapi.json", want: 200})

	// create
	created := v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"airflow","name":"Conformance"}`, want: 202})
	id, opID := dataString(t, created, "deployment_id"), dataString(t, created, "operation_id")
	v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"superset"}`, want: 202})
	// Idempotency-Key: a replay answers the original, a different body is 422, a bad key 400.
	first := v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"superset","name":null}`,
		header: map[string]string{"Idempotency-Key": "conformance-1"}, want: 202})
	again := v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"superset","name":null}`,
		header: map[string]string{"Idempotency-Key": "conformance-1"}, want: 202})
	if dataString(t, first, "operation_id") != dataString(t, again, "operation_id") {
		t.Errorf("replayed create started another operation: %v then %v", first, again)
	}
	v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"airflow"}`,
		header: map[string]string{"Idempotency-Key": "conformance-1"}, want: 422})
	v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"airflow"}`,
		header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, want: 400})
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + unknownID, key: full,
		header: map[string]string{"Idempotency-Key": "conformance-1"}, want: 422})
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + unknownID, key: full,
		header: map[string]string{"Idempotency-Key": "caf\u00e9"}, want: 400})
	for _, bad := range []string{`{"app_type":"mysql"}`, `{`, `[]`, `{"app_type":"airflow","extra":1}`,
		`{"app_type":"airflow","name":""}`, `{"app_type":"airflow","name":"` + strings.Repeat("n", 101) + `"}`, ` `} {
		v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: bad, want: 400})
	}
	v.do(call{method: "POST", path: "/api/v1/deployments", key: full, body: `{"app_type":"airflow","name":"` + strings.Repeat("x", 70000) + `"}`, want: 413})
	v.do(call{method: "POST", path: "/api/v1/deployments", body: `{"app_type":"airflow"}`, want: 401})
	v.do(call{method: "POST", path: "/api/v1/deployments", key: "onv_sk_test_unknown", body: `{"app_type":"airflow"}`, want: 401})
	v.do(call{method: "POST", path: "/api/v1/deployments", key: reader, body: `{"app_type":"airflow"}`, want: 403})

	// get and operation while provisioning, then ready
	v.do(call{method: "GET", path: "/api/v1/deployments/" + id, key: full, want: 200})
	v.do(call{method: "GET", path: "/api/v1/operations/" + opID, key: full, want: 200})
	waitOp(t, v, full, opID)
	v.do(call{method: "GET", path: "/api/v1/deployments/" + id, key: reader, want: 200})
	v.do(call{method: "GET", path: "/api/v1/operations/" + opID, key: reader, want: 200})
	for _, c := range []call{
		{path: "/api/v1/deployments/" + unknownID, key: full, want: 404},
		{path: "/api/v1/deployments/not-a-uuid", key: full, want: 404},
		{path: "/api/v1/deployments/" + id, key: other, want: 404},
		{path: "/api/v1/deployments/" + id, want: 401},
		{path: "/api/v1/deployments/" + id, key: writer, want: 403},
		{path: "/api/v1/operations/" + unknownOp, key: full, want: 404},
		{path: "/api/v1/operations/op_nope", key: full, want: 404},
		{path: "/api/v1/operations/" + opID, key: other, want: 404},
		{path: "/api/v1/operations/" + opID, want: 401},
		{path: "/api/v1/operations/" + opID, key: writer, want: 403},
	} {
		c.method = "GET"
		v.do(c)
	}

	// list
	for _, c := range []call{
		{path: "/api/v1/deployments", key: full, want: 200},
		{path: "/api/v1/deployments?page=1&per_page=2", key: full, want: 200},
		{path: "/api/v1/deployments?page=99&per_page=100", key: full, want: 200},
		{path: "/api/v1/deployments", key: other, want: 200},
		{path: "/api/v1/deployments?page=0", key: full, want: 400},
		{path: "/api/v1/deployments?per_page=101", key: full, want: 400},
		{path: "/api/v1/deployments?page=abc", key: full, want: 400},
		{path: "/api/v1/deployments?per_page=", key: full, want: 400},
		{path: "/api/v1/deployments", want: 401},
		{path: "/api/v1/deployments", key: writer, want: 403},
	} {
		c.method = "GET"
		v.do(c)
	}

	// delete: accepted, accepted again while destroying (same operation), then destroyed
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + id, key: reader, want: 403})
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + id, want: 401})
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + id, key: other, want: 404})
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + unknownID, key: full, want: 404})
	del := v.do(call{method: "DELETE", path: "/api/v1/deployments/" + id, key: full, want: 202})
	delOp := dataString(t, del, "operation_id")
	waitOp(t, v, full, delOp)
	v.do(call{method: "DELETE", path: "/api/v1/deployments/" + id, key: full, want: 409})
	v.do(call{method: "GET", path: "/api/v1/deployments/" + id, key: full, want: 200})

	// outside the document: unknown paths and methods
	v.do(call{method: "GET", path: "/api/v1/nope", key: full, want: 404})
	v.do(call{method: "GET", path: "/", want: 404})
	v.do(call{method: "PUT", path: "/api/v1/deployments", key: full, want: 405})
	v.do(call{method: "PATCH", path: "/api/v1/deployments/" + id, key: full, want: 405})
	v.do(call{method: "POST", path: "/api/v1/openapi.json", want: 405})

	// 500: an app whose table does not exist fails every storage call.
	broken := start(t, func(c *config.Config) { c.Table = "no-such-table" })
	bv := newValidator(t, broken.base)
	for _, c := range []call{
		{method: "POST", path: "/api/v1/deployments", body: `{"app_type":"airflow"}`},
		{method: "GET", path: "/api/v1/deployments"},
		{method: "GET", path: "/api/v1/deployments/" + unknownID},
		{method: "DELETE", path: "/api/v1/deployments/" + unknownID},
		{method: "GET", path: "/api/v1/operations/" + unknownOp},
	} {
		c.key, c.want = full, 500
		body := bv.do(c)
		if msg, _ := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "Request ID: ") || strings.Contains(msg, "no-such-table") {
			t.Errorf("%s %s: 500 message %q should carry the request id and no internals", c.method, c.path, msg)
		}
	}
	merge(v, bv)

	// 429: a key with a bucket of one request.
	limited := start(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 0.001, 1 })
	lv := newValidator(t, limited.base)
	lk := limited.key(t, "org_limited", apikey.AllScopes...)
	for _, c := range []call{
		{method: "GET", path: "/api/v1/deployments", want: 200},
		{method: "GET", path: "/api/v1/deployments", want: 429},
		{method: "POST", path: "/api/v1/deployments", body: `{"app_type":"airflow"}`, want: 429},
		{method: "GET", path: "/api/v1/deployments/" + unknownID, want: 429},
		{method: "DELETE", path: "/api/v1/deployments/" + unknownID, want: 429},
		{method: "GET", path: "/api/v1/operations/" + unknownOp, want: 429},
	} {
		c.key = lk
		lv.do(c)
	}
	merge(v, lv)

	// Every route was exercised, and with the statuses we mean to cover.
	want := map[string][]int{
		"create-deployment": {202, 400, 401, 403, 413, 422, 429, 500},
		"list-deployments":  {200, 400, 401, 403, 429, 500},
		"get-deployment":    {200, 401, 403, 404, 429, 500},
		"delete-deployment": {202, 400, 401, 403, 404, 409, 422, 429, 500},
		"get-operation":     {200, 401, 403, 404, 429, 500},
		"get-openapi":       {200},
		"NotFound":          {404},
		"MethodNotAllowed":  {405},
	}
	for _, rt := range httpapi.Routes {
		if _, ok := want[rt.Name]; !ok {
			t.Errorf("route %s is not exercised by this test; add its cases", rt.Name)
		}
	}
	for op, statuses := range want {
		for _, s := range statuses {
			if !v.seen[op][s] {
				t.Errorf("%s: status %d never validated", op, s)
			}
		}
	}
}

// merge adds the statuses another validator saw to v's.
func merge(v, other *validator) {
	for op, st := range other.seen {
		if v.seen[op] == nil {
			v.seen[op] = map[int]bool{}
		}
		for s := range st {
			v.seen[op][s] = true
		}
	}
}

func waitOp(t *testing.T, v *validator, key, opID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		body := v.do(call{method: "GET", path: "/api/v1/operations/" + opID, key: key, want: 200})
		if s := dataString(t, body, "status"); s == "succeeded" || s == "failed" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("operation %s not done after 30s", opID)
}
