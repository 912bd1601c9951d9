package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// api is a test client for one running gateway.
type api struct {
	t    *testing.T
	base string
	app  *app.App
}

type resp struct {
	Status    int
	Header    http.Header
	Raw       string
	Body      map[string]any
	decodeErr error // the body did not decode as a JSON object
}

func newAPI(t *testing.T, delay time.Duration) *api {
	t.Helper()
	a := testenv.App(t, func(c *config.Config) { c.ProvisionDelay = delay })
	return &api{t: t, base: testenv.Gateway(t, a), app: a}
}

func (c *api) key(org string, scopes ...apikey.Scope) string {
	c.t.Helper()
	if len(scopes) == 0 {
		scopes = apikey.AllScopes
	}
	return testenv.Key(c.t, c.app.Store, org, scopes...)
}

func (c *api) do(method, path, key string, body string) resp {
	c.t.Helper()
	return c.doWith(method, path, key, body, nil)
}

// send sends a request and reads and decodes its response. It never touches
// the test, so it is safe in goroutines; check its result with checkResp.
// sendAll sends n requests with key at once, request i as req(i) describes
// it, and returns the responses in order once all are back. A transport
// error fails the test then, from the test's goroutine.
func (c *api) sendAll(n int, key string, req func(i int) (method, path, body string, extra http.Header)) []resp {
	c.t.Helper()
	out := make([]resp, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			method, path, body, extra := req(i)
			out[i], errs[i] = c.send(method, path, key, body, extra)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			c.t.Fatalf("request %d: %v", i, err)
		}
	}
	return out
}

func (c *api) send(method, path, key, body string, extra http.Header) (resp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return resp{}, err
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if err != nil {
		return r, fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(r.Raw))
	dec.UseNumber()
	r.decodeErr = dec.Decode(&r.Body)
	return r, nil
}

// doWith sends a request and checks what every response must have.
func (c *api) doWith(method, path, key, body string, extra http.Header) resp {
	c.t.Helper()
	r, err := c.send(method, path, key, body, extra)
	checkResp(c.t, method, path, r, err)
	return r
}

// checkResp checks what every response must have: a JSON object body, a
// JSON content type and a request id.
func checkResp(t *testing.T, method, path string, r resp, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, r.Raw)
	}
	if r.decodeErr != nil {
		t.Fatalf("%s %s: body is not a JSON object: %s", method, path, r.Raw)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%s %s: no X-Request-Id", method, path)
	}
}

func (r resp) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

func (r resp) str(path ...string) string {
	var cur any = r.Body
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// wantError checks status and the exact documented envelope.
func wantError(t *testing.T, r resp, status int, code, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	want := fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, code, msg)
	if msg == "" {
		if r.str("error", "code") != code || r.str("error", "message") == "" || len(r.Body) != 1 {
			t.Fatalf("body %s, want code %s with a message", r.Raw, code)
		}
		return
	}
	if strings.TrimSpace(r.Raw) != want {
		t.Fatalf("body %s\nwant %s", r.Raw, want)
	}
}

func (c *api) create(key, body string) (depID, opID string) {
	c.t.Helper()
	r := c.do("POST", "/api/v1/deployments", key, body)
	if r.Status != http.StatusAccepted {
		c.t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	return r.str("data", "deployment_id"), r.str("data", "operation_id")
}

// waitOp polls an operation until it is terminal.
func (c *api) waitOp(key, opID string) resp {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.do("GET", "/api/v1/operations/"+opID, key, "")
		if r.Status != 200 {
			c.t.Fatalf("get operation: %d %s", r.Status, r.Raw)
		}
		if s := r.str("data", "status"); s == "succeeded" || s == "failed" {
			return r
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("operation %s not terminal: %s", opID, r.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	tsRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// TestSeedLifecycle walks the seed's examples end to end for both app types.
func TestSeedLifecycle(t *testing.T) {
	t.Parallel()
	c := newAPI(t, 300*time.Millisecond)
	key := c.key("org_a")
	for _, appType := range []string{"airflow", "superset"} {
		t.Run(appType, func(t *testing.T) {
			c.t = t
			r := c.do("POST", "/api/v1/deployments", key, fmt.Sprintf(`{"app_type": %q, "name": "Production %s"}`, appType, appType))
			if r.Status != 202 {
				t.Fatalf("create: %d %s", r.Status, r.Raw)
			}
			depID, opID := r.str("data", "deployment_id"), r.str("data", "operation_id")
			if !uuidRE.MatchString(depID) || !strings.HasPrefix(opID, "op_") || !uuidRE.MatchString(opID[3:]) {
				t.Fatalf("ids: %s", r.Raw)
			}
			want := fmt.Sprintf(`{"data":{"deployment_id":%q,"operation_id":%q,"links":{"deployment":"/api/v1/deployments/%s","operation":"/api/v1/operations/%s"}}}`, depID, opID, depID, opID)
			if strings.TrimSpace(r.Raw) != want {
				t.Fatalf("create body\n%s\nwant\n%s", r.Raw, want)
			}

			g := c.do("GET", "/api/v1/deployments/"+depID, key, "")
			d := g.data()
			if g.Status != 200 || d["status"] != "provisioning" || d["url"] != nil || d["name"] != "Production "+appType ||
				d["app_type"] != appType || d["environment_id"] != "env_default" || !tsRE.MatchString(g.str("data", "created_at")) ||
				g.str("data", "links", "self") != "/api/v1/deployments/"+depID || g.str("data", "links", "operation") != "/api/v1/operations/"+opID {
				t.Fatalf("get while provisioning: %s", g.Raw)
			}

			op := c.waitOp(key, opID)
			od := op.data()
			if od["status"] != "succeeded" || od["type"] != "create" || od["deployment_id"] != depID || od["error"] != nil ||
				!tsRE.MatchString(op.str("data", "completed_at")) || !tsRE.MatchString(op.str("data", "updated_at")) ||
				op.str("data", "links", "self") != "/api/v1/operations/"+opID || op.str("data", "links", "deployment") != "/api/v1/deployments/"+depID {
				t.Fatalf("create operation: %s", op.Raw)
			}
			g = c.do("GET", "/api/v1/deployments/"+depID, key, "")
			wantURL := fmt.Sprintf("https://%s.%s.onvera.io", appType, strings.ReplaceAll(depID, "-", "")[:12])
			if g.str("data", "status") != "ready" || g.str("data", "url") != wantURL || g.data()["links"].(map[string]any)["operation"] != nil {
				t.Fatalf("get when ready: %s (want url %s)", g.Raw, wantURL)
			}

			del := c.do("DELETE", "/api/v1/deployments/"+depID, key, "")
			if del.Status != 202 {
				t.Fatalf("delete: %d %s", del.Status, del.Raw)
			}
			delOp := del.str("data", "operation_id")
			want = fmt.Sprintf(`{"data":{"operation_id":%q,"links":{"operation":"/api/v1/operations/%s","deployment":"/api/v1/deployments/%s"}}}`, delOp, delOp, depID)
			if strings.TrimSpace(del.Raw) != want {
				t.Fatalf("delete body\n%s\nwant\n%s", del.Raw, want)
			}
			g = c.do("GET", "/api/v1/deployments/"+depID, key, "")
			if g.str("data", "status") != "destroying" || g.str("data", "links", "operation") != "/api/v1/operations/"+delOp {
				t.Fatalf("get while destroying: %s", g.Raw)
			}
			op = c.waitOp(key, delOp)
			if op.str("data", "status") != "succeeded" || op.str("data", "type") != "delete" {
				t.Fatalf("delete operation: %s", op.Raw)
			}
			g = c.do("GET", "/api/v1/deployments/"+depID, key, "")
			if g.str("data", "status") != "destroyed" || g.data()["url"] != nil {
				t.Fatalf("get when destroyed: %s", g.Raw)
			}
			wantError(t, c.do("DELETE", "/api/v1/deployments/"+depID, key, ""), 409, "DEPLOYMENT_DESTROYED", "Deployment has been destroyed")
		})
	}
	c.t = t
	l := c.do("GET", "/api/v1/deployments?page=1&per_page=50", key, "")
	items, _ := l.data()["items"].([]any)
	if l.Status != 200 || len(items) != 2 || items[0].(map[string]any)["app_type"] != "superset" {
		t.Fatalf("list (newest first): %s", l.Raw)
	}
	if p := l.data()["pagination"]; fmt.Sprint(p) != "map[page:1 pages:1 per_page:50 total:2]" {
		t.Fatalf("pagination %v", p)
	}
}

func TestGeneratedName(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_a")
	id, _ := c.create(key, `{"app_type":"airflow"}`)
	name := c.do("GET", "/api/v1/deployments/"+id, key, "").str("data", "name")
	if !regexp.MustCompile(`^airflow-[a-z]+-[a-z]+-\d{4}$`).MatchString(name) {
		t.Fatalf("generated name %q", name)
	}
	id, _ = c.create(key, `{"app_type":"superset","name":null}`)
	if name := c.do("GET", "/api/v1/deployments/"+id, key, "").str("data", "name"); !strings.HasPrefix(name, "superset-") {
		t.Fatalf("null name gave %q", name)
	}
}

func TestAuthAndScopes(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	read := c.key("org_a", apikey.ScopeRead)
	write := c.key("org_a", apikey.ScopeWrite)
	both := c.key("org_a")
	depID, opID := c.create(both, `{"app_type":"airflow"}`)

	for _, k := range []string{"", "nonsense", "onv_sk_live_" + strings.Repeat("a", 40), both + "x", "ONV_SK_TEST_" + both[12:]} {
		wantError(t, c.do("GET", "/api/v1/deployments", k, ""), 401, "INVALID_API_KEY", "Invalid API key")
		wantError(t, c.do("POST", "/api/v1/deployments", k, `{"app_type":"airflow"}`), 401, "INVALID_API_KEY", "Invalid API key")
	}
	wantError(t, c.do("POST", "/api/v1/deployments", read, `{"app_type":"airflow"}`), 403, "INSUFFICIENT_SCOPE", "Insufficient scope. Required: deployments:write")
	wantError(t, c.do("DELETE", "/api/v1/deployments/"+depID, read, ""), 403, "INSUFFICIENT_SCOPE", "Insufficient scope. Required: deployments:write")
	wantError(t, c.do("GET", "/api/v1/deployments", write, ""), 403, "INSUFFICIENT_SCOPE", "Insufficient scope. Required: deployments:read")
	wantError(t, c.do("GET", "/api/v1/deployments/"+depID, write, ""), 403, "INSUFFICIENT_SCOPE", "Insufficient scope. Required: deployments:read")
	wantError(t, c.do("GET", "/api/v1/operations/"+opID, write, ""), 403, "INSUFFICIENT_SCOPE", "Insufficient scope. Required: deployments:read")
	if r := c.do("GET", "/api/v1/deployments/"+depID, read, ""); r.Status != 200 {
		t.Fatalf("read key get: %d", r.Status)
	}
	if r := c.do("POST", "/api/v1/deployments", write, `{"app_type":"superset"}`); r.Status != 202 {
		t.Fatalf("write key create: %d", r.Status)
	}

	// Revocation: a fresh authenticator (cold Lambda, empty cache) refuses the
	// revoked key at once. (A warm one keeps accepting it until its cache
	// entry expires: that is in pkg/apikey's TestAuthenticatorCachesAndSeesRevocation.)
	ks, err := c.app.Store.ListKeys(context.Background(), "org_a")
	if err != nil || len(ks) != 3 {
		t.Fatalf("list keys: %v %d", err, len(ks))
	}
	for _, k := range ks {
		if k.Hash == apikey.Hash(read) {
			if _, err := c.app.Store.RevokeKey(context.Background(), k.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	auth := &apikey.Authenticator{Store: c.app.Store, TTL: time.Minute}
	if _, ok, err := auth.Authenticate(context.Background(), read); ok || err != nil {
		t.Fatalf("revoked key accepted: %v %v", ok, err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_a")
	bad := []struct{ body, code, msg string }{
		{`{"app_type": "kafka"}`, "INVALID_REQUEST", "Invalid app_type. Must be 'airflow' or 'superset'"},
		{`{"name": "x"}`, "INVALID_REQUEST", "Invalid app_type. Must be 'airflow' or 'superset'"},
		{`{"app_type": 7}`, "INVALID_REQUEST", "Invalid app_type. Must be 'airflow' or 'superset'"},
		{`{"app_type": "AIRFLOW"}`, "INVALID_REQUEST", "Invalid app_type. Must be 'airflow' or 'superset'"},
		{`{"app_type": "airflow", "name": ""}`, "INVALID_REQUEST", "Invalid name. Must be 1 to 100 printable characters"},
		{`{"app_type": "airflow", "name": "   "}`, "INVALID_REQUEST", "Invalid name. Must be 1 to 100 printable characters"},
		{`{"app_type": "airflow", "name": "a\u0007b"}`, "INVALID_REQUEST", "Invalid name. Must be 1 to 100 printable characters"},
		{`{"app_type": "airflow", "name": "` + strings.Repeat("é", 101) + `"}`, "INVALID_REQUEST", "Invalid name. Must be 1 to 100 printable characters"},
		{`{"app_type": "airflow", "name": 5}`, "INVALID_REQUEST", "Invalid name. Must be a string"},
		{`{"app_type": "airflow", "size": "xl"}`, "INVALID_REQUEST", `Unknown field "size". Allowed: app_type, name`},
		{`{"app_type": "airflow"`, "INVALID_REQUEST", "Request body is not valid JSON"},
		{`{"app_type": "airflow"} {}`, "INVALID_REQUEST", "Request body must contain a single JSON object"},
		{`["airflow"]`, "INVALID_REQUEST", "Request body must be a JSON object"},
		{`"airflow"`, "INVALID_REQUEST", "Request body must be a JSON object"},
		{`null`, "INVALID_REQUEST", "Request body must be a JSON object"},
		{`not json`, "INVALID_REQUEST", "Request body must be a JSON object"},
	}
	for _, b := range bad {
		wantError(t, c.do("POST", "/api/v1/deployments", key, b.body), 400, b.code, b.msg)
	}
	wantError(t, c.do("POST", "/api/v1/deployments", key, ""), 400, "INVALID_REQUEST", "Request body is required")
	wantError(t, c.doWith("POST", "/api/v1/deployments", key, `{"app_type":"airflow"}`, http.Header{"Content-Type": {"text/plain"}}),
		415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
	if r := c.doWith("POST", "/api/v1/deployments", key, `{"app_type":"airflow"}`, http.Header{"Content-Type": {"application/json; charset=utf-8"}}); r.Status != 202 {
		t.Fatalf("json with charset refused: %s", r.Raw)
	}
	big := `{"app_type":"airflow","name":"` + strings.Repeat("a", 70000) + `"}`
	wantError(t, c.do("POST", "/api/v1/deployments", key, big), 413, "PAYLOAD_TOO_LARGE", "Request body must not exceed 65536 bytes")
	if r := c.do("POST", "/api/v1/deployments", key, `{"app_type":"airflow","name":"`+strings.Repeat("é", 100)+`"}`); r.Status != 202 {
		t.Fatalf("100-character name refused: %s", r.Raw)
	}

	for _, q := range []string{"page=0", "page=-1", "page=abc", "page=1.5", "page=", "page=%2B1", "page=99999999999"} {
		wantError(t, c.do("GET", "/api/v1/deployments?"+q, key, ""), 400, "INVALID_REQUEST", "Invalid page. Must be an integer >= 1")
	}
	for _, q := range []string{"per_page=0", "per_page=101", "per_page=x", "per_page="} {
		wantError(t, c.do("GET", "/api/v1/deployments?"+q, key, ""), 400, "INVALID_REQUEST", "Invalid per_page. Must be an integer between 1 and 100")
	}

	wantError(t, c.do("GET", "/api/v1/deployments/not-a-uuid", key, ""), 404, "DEPLOYMENT_NOT_FOUND", "Deployment not found")
	wantError(t, c.do("GET", "/api/v1/deployments/550e8400-e29b-41d4-a716-446655440000", key, ""), 404, "DEPLOYMENT_NOT_FOUND", "Deployment not found")
	wantError(t, c.do("DELETE", "/api/v1/deployments/550e8400-e29b-41d4-a716-446655440000", key, ""), 404, "DEPLOYMENT_NOT_FOUND", "Deployment not found")
	wantError(t, c.do("GET", "/api/v1/operations/op_550e8400-e29b-41d4-a716-446655440000", key, ""), 404, "OPERATION_NOT_FOUND", "Operation not found")
	wantError(t, c.do("GET", "/api/v1/operations/nope", key, ""), 404, "OPERATION_NOT_FOUND", "Operation not found")
	wantError(t, c.do("GET", "/api/v2/deployments", key, ""), 404, "NOT_FOUND", "Resource not found")
	wantError(t, c.do("GET", "/", "", ""), 404, "NOT_FOUND", "Resource not found")
	r := c.do("PATCH", "/api/v1/deployments/550e8400-e29b-41d4-a716-446655440000", key, "")
	wantError(t, r, 405, "METHOD_NOT_ALLOWED", "")
	if r.Header.Get("Allow") != "GET, DELETE" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	wantError(t, c.do("PUT", "/api/v1/deployments", key, `{}`), 405, "METHOD_NOT_ALLOWED", "")
}

func TestPagination(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_a")
	var ids []string
	for i := range 7 {
		id, _ := c.create(key, fmt.Sprintf(`{"app_type":"airflow","name":"d%d"}`, i))
		ids = append(ids, id)
	}
	// One destroyed deployment stays listed, so pages do not shift.
	c.do("DELETE", "/api/v1/deployments/"+ids[3], key, "")
	names := func(q string) (string, string) {
		r := c.do("GET", "/api/v1/deployments?"+q, key, "")
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Raw)
		}
		var out []string
		for _, it := range r.data()["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ","), fmt.Sprint(r.data()["pagination"])
	}
	cases := []struct{ q, names, pag string }{
		{"", "d6,d5,d4,d3,d2,d1,d0", "map[page:1 pages:1 per_page:50 total:7]"},
		{"per_page=3", "d6,d5,d4", "map[page:1 pages:3 per_page:3 total:7]"},
		{"page=2&per_page=3", "d3,d2,d1", "map[page:2 pages:3 per_page:3 total:7]"},
		{"page=3&per_page=3", "d0", "map[page:3 pages:3 per_page:3 total:7]"},
		{"page=4&per_page=3", "", "map[page:4 pages:3 per_page:3 total:7]"},
		{"page=100000000&per_page=100", "", "map[page:100000000 pages:1 per_page:100 total:7]"},
		{"page=1&per_page=100", "d6,d5,d4,d3,d2,d1,d0", "map[page:1 pages:1 per_page:100 total:7]"},
	}
	for _, tc := range cases {
		n, p := names(tc.q)
		if n != tc.names || p != tc.pag {
			t.Errorf("%q: got %q %s, want %q %s", tc.q, n, p, tc.names, tc.pag)
		}
	}
	// An organization with nothing gets an empty list, not null.
	r := c.do("GET", "/api/v1/deployments", c.key("org_empty"), "")
	if !strings.Contains(r.Raw, `"items":[]`) || !strings.Contains(r.Raw, `"total":0,"pages":0`) {
		t.Fatalf("empty org: %s", r.Raw)
	}
}

// TestOrganizationsIsolated: every endpoint with another organization's ids is a 404.
func TestOrganizationsIsolated(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	a, b := c.key("org_a"), c.key("org_b")
	depA, opA := c.create(a, `{"app_type":"airflow","name":"secret-a"}`)
	depB, _ := c.create(b, `{"app_type":"superset"}`)

	wantError(t, c.do("GET", "/api/v1/deployments/"+depA, b, ""), 404, "DEPLOYMENT_NOT_FOUND", "Deployment not found")
	wantError(t, c.do("DELETE", "/api/v1/deployments/"+depA, b, ""), 404, "DEPLOYMENT_NOT_FOUND", "Deployment not found")
	wantError(t, c.do("GET", "/api/v1/operations/"+opA, b, ""), 404, "OPERATION_NOT_FOUND", "Operation not found")
	l := c.do("GET", "/api/v1/deployments", b, "")
	if strings.Contains(l.Raw, depA) || strings.Contains(l.Raw, "secret-a") || !strings.Contains(l.Raw, depB) || !strings.Contains(l.Raw, `"total":1`) {
		t.Fatalf("org_b list shows org_a data: %s", l.Raw)
	}
	if g := c.do("GET", "/api/v1/deployments/"+depA, a, ""); g.str("data", "status") != "provisioning" {
		t.Fatalf("org_a's deployment was touched: %s", g.Raw)
	}
}

// TestConcurrentDeletes: many simultaneous deletes yield one destroy operation.
func TestConcurrentDeletes(t *testing.T) {
	t.Parallel()
	c := newAPI(t, 500*time.Millisecond)
	key := c.key("org_a")
	depID, opID := c.create(key, `{"app_type":"airflow"}`)
	c.waitOp(key, opID)
	const n = 12
	out := c.sendAll(n, key, func(int) (string, string, string, http.Header) {
		return "DELETE", "/api/v1/deployments/" + depID, "", nil
	})
	ops := make([]string, n)
	for i, r := range out {
		ops[i] = r.str("data", "operation_id")
	}
	for i := range n {
		if out[i].Status != 202 || ops[i] != ops[0] || ops[0] == "" {
			t.Fatalf("delete %d: status %d op %q (first op %q)", i, out[i].Status, ops[i], ops[0])
		}
	}
	if op := c.waitOp(key, ops[0]); op.str("data", "status") != "succeeded" {
		t.Fatalf("destroy: %s", op.Raw)
	}
	if g := c.do("GET", "/api/v1/deployments/"+depID, key, ""); g.str("data", "status") != "destroyed" {
		t.Fatalf("after destroy: %s", g.Raw)
	}
}

// TestDeleteWhileProvisioning: the deployment ends destroyed, never ready,
// and the superseded create operation ends failed with a reason.
func TestDeleteWhileProvisioning(t *testing.T) {
	t.Parallel()
	c := newAPI(t, 2*time.Second)
	key := c.key("org_a")
	depID, createOp := c.create(key, `{"app_type":"superset"}`)
	del := c.do("DELETE", "/api/v1/deployments/"+depID, key, "")
	if del.Status != 202 {
		t.Fatalf("delete: %s", del.Raw)
	}
	co := c.waitOp(key, createOp)
	if co.str("data", "status") != "failed" || co.str("data", "error", "code") != "CANCELLED" {
		t.Fatalf("create op: %s", co.Raw)
	}
	if do := c.waitOp(key, del.str("data", "operation_id")); do.str("data", "status") != "succeeded" {
		t.Fatalf("delete op: %s", do.Raw)
	}
	time.Sleep(2500 * time.Millisecond) // let any stale create task arrive
	if g := c.do("GET", "/api/v1/deployments/"+depID, key, ""); g.str("data", "status") != "destroyed" {
		t.Fatalf("deployment: %s", g.Raw)
	}
}

// TestConcurrentCreatesKeepPagesDense: creates racing in one organization
// are all accepted, each takes its own sequence number, and paging visits
// every deployment exactly once (pages are key ranges of that sequence, so a
// gap or a shared number would show up as a short page or a repeat).
func TestConcurrentCreatesKeepPagesDense(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_race")
	const n = 32
	out := c.sendAll(n, key, func(i int) (string, string, string, http.Header) {
		return "POST", "/api/v1/deployments", fmt.Sprintf(`{"app_type":"superset","name":"race-%02d"}`, i), nil
	})
	for i, r := range out {
		if r.Status != http.StatusAccepted {
			t.Errorf("create %d: status %d", i, r.Status)
		}
	}
	seen := map[string]int{}
	for page := 1; ; page++ {
		r := c.do("GET", fmt.Sprintf("/api/v1/deployments?per_page=5&page=%d", page), key, "")
		items := r.data()["items"].([]any)
		if page == 1 {
			if got := fmt.Sprint(r.data()["pagination"]); got != "map[page:1 pages:7 per_page:5 total:32]" {
				t.Fatalf("pagination %s", got)
			}
		}
		if len(items) == 0 {
			if page != 8 {
				t.Fatalf("page %d is empty before the last page", page)
			}
			break
		}
		if want := min(5, n-(page-1)*5); len(items) != want {
			t.Fatalf("page %d has %d items, want %d", page, len(items), want)
		}
		for _, it := range items {
			seen[it.(map[string]any)["name"].(string)]++
		}
	}
	for i := range n {
		if name := fmt.Sprintf("race-%02d", i); seen[name] != 1 {
			t.Errorf("%s listed %d times", name, seen[name])
		}
	}
}
