package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/testenv"
)

func (c *api) doIdem(method, path, key, idem, body string) resp {
	c.t.Helper()
	return c.doWith(method, path, key, body, http.Header{"Idempotency-Key": {idem}})
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_a")
	body := `{"app_type":"airflow","name":"retry-safe"}`
	first := c.doIdem("POST", "/api/v1/deployments", key, "create-1", body)
	again := c.doIdem("POST", "/api/v1/deployments", key, "create-1", body)
	if first.Status != 202 || again.Status != 202 || first.Raw != again.Raw || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs:\n%d %s\n%d %s", first.Status, first.Raw, again.Status, again.Raw)
	}
	if l := c.do("GET", "/api/v1/deployments", key, ""); !strings.Contains(l.Raw, `"total":1`) {
		t.Fatalf("a replay created a second deployment: %s", l.Raw)
	}
	r := c.doIdem("POST", "/api/v1/deployments", key, "create-1", `{"app_type":"superset"}`)
	if r.Status != 422 || !strings.Contains(r.Raw, `"IDEMPOTENCY_KEY_REUSED"`) {
		t.Fatalf("different body: %d %s", r.Status, r.Raw)
	}
	// Keys are per organization: another organization's same key is a new request.
	other := c.key("org_b")
	if r := c.doIdem("POST", "/api/v1/deployments", other, "create-1", body); r.Status != 202 || r.Raw == first.Raw {
		t.Fatalf("cross-organization replay: %d %s", r.Status, r.Raw)
	}
	// A refused request does not burn the key.
	if r := c.doIdem("POST", "/api/v1/deployments", key, "create-2", `{"app_type":"kafka"}`); r.Status != 400 {
		t.Fatalf("bad body: %d", r.Status)
	}
	if r := c.doIdem("POST", "/api/v1/deployments", key, "create-2", `{"app_type":"kafka"}`); r.Status != 400 {
		t.Fatalf("bad body retried: %d %s", r.Status, r.Raw)
	}
	for _, bad := range []string{"", strings.Repeat("k", 256), "tab\tkey"} {
		if r := c.doIdem("POST", "/api/v1/deployments", key, bad, body); r.Status != 400 || !strings.Contains(r.Raw, "Idempotency-Key") {
			t.Fatalf("key %q: %d %s", bad, r.Status, r.Raw)
		}
	}

	// Delete: replays return the same operation; the same key on another path is a reuse.
	depID := first.str("data", "deployment_id")
	d1 := c.doIdem("DELETE", "/api/v1/deployments/"+depID, key, "delete-1", "")
	d2 := c.doIdem("DELETE", "/api/v1/deployments/"+depID, key, "delete-1", "")
	if d1.Status != 202 || d1.Raw != d2.Raw {
		t.Fatalf("delete replay: %s / %s", d1.Raw, d2.Raw)
	}
	if r := c.doIdem("DELETE", "/api/v1/deployments/550e8400-e29b-41d4-a716-446655440000", key, "delete-1", ""); r.Status != 422 {
		t.Fatalf("delete key reused on another deployment: %d %s", r.Status, r.Raw)
	}
	if r := c.doIdem("DELETE", "/api/v1/deployments/550e8400-e29b-41d4-a716-446655440000", key, "delete-404", ""); r.Status != 404 {
		t.Fatalf("unknown deployment: %d", r.Status)
	}
}

// TestIdempotencyConcurrent: simultaneous duplicates create exactly one
// deployment; each gets either the original result or a 409 to retry.
func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	c := newAPI(t, time.Hour)
	key := c.key("org_a")
	const n = 10
	out := c.sendAll(n, key, func(int) (string, string, string, http.Header) {
		return "POST", "/api/v1/deployments", `{"app_type":"superset"}`, http.Header{"Idempotency-Key": {"same"}}
	})
	var body string
	for _, r := range out {
		checkResp(t, "POST", "/api/v1/deployments", r, nil)
		switch r.Status {
		case 202:
			if body != "" && r.Raw != body {
				t.Fatalf("two different results for one key:\n%s\n%s", body, r.Raw)
			}
			body = r.Raw
		case 409:
			if !strings.Contains(r.Raw, `"CONFLICT"`) {
				t.Fatalf("409 body %s", r.Raw)
			}
		default:
			t.Fatalf("status %d: %s", r.Status, r.Raw)
		}
	}
	if l := c.do("GET", "/api/v1/deployments", key, ""); !strings.Contains(l.Raw, `"total":1`) {
		t.Fatalf("duplicates created: %s", l.Raw)
	}
}

// TestRateLimit stays serial (no t.Parallel): it needs its four requests to
// land well within a token's 2 s refill, which other tests' load could delay.
func TestRateLimit(t *testing.T) {
	// A token per 2 s: no refill while the four requests run.
	a := testenv.App(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 0.5, 3 })
	c := &api{t: t, base: testenv.Gateway(t, a), app: a}
	key, other := c.key("org_a"), c.key("org_a")
	for i := range 3 {
		r := c.do("GET", "/api/v1/deployments", key, "")
		if r.Status != 200 || r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v", i, r.Status, r.Header)
		}
	}
	r := c.do("GET", "/api/v1/deployments", key, "")
	wantError(t, r, 429, "RATE_LIMITED", "Rate limit exceeded. Retry after 2 seconds")
	if r.Header.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r := c.do("GET", "/api/v1/deployments", other, ""); r.Status != 200 {
		t.Fatalf("another key was limited: %d", r.Status)
	}
	time.Sleep(2100 * time.Millisecond)
	if r := c.do("GET", "/api/v1/deployments", key, ""); r.Status != 200 {
		t.Fatalf("not refilled: %d", r.Status)
	}
}
