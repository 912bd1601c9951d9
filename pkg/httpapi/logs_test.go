package httpapi_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/testenv"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsCarryNoKeyMaterial captures every log line of a full run - the
// gateway, the handlers, the provisioner - and finds no part of any key.
func TestLogsCarryNoKeyMaterial(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	awsCfg := testenv.AWSConfig(t)
	cfg := testenv.Config(t, awsCfg)
	cfg.ProvisionDelay = 200 * time.Millisecond
	a, err := app.Build(cfg, awsCfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	c := &api{t: t, base: testenv.Gateway(t, a), app: a}
	key := c.key("org_logs")
	readOnly := c.key("org_logs", apikey.ScopeRead)
	wrong := "onv_sk_test_" + strings.Repeat("Z", 40)

	depID, opID := c.create(key, `{"app_type":"airflow"}`)
	c.waitOp(key, opID)
	c.do("GET", "/api/v1/deployments", key, "")
	c.do("GET", "/api/v1/deployments/"+depID, readOnly, "")
	c.do("POST", "/api/v1/deployments", readOnly, `{"app_type":"airflow"}`)
	c.do("GET", "/api/v1/deployments", wrong, "")
	c.do("POST", "/api/v1/deployments", key, `{"app_type":"`+key+`"}`) // a client pasting its key into a body
	del := c.do("DELETE", "/api/v1/deployments/"+depID, key, "")
	c.waitOp(key, del.str("data", "operation_id"))

	out := logs.String()
	if !strings.Contains(out, `"request_id"`) || !strings.Contains(out, `"org_id":"org_logs"`) || strings.Count(out, `"msg":"request"`) < 8 {
		t.Fatalf("access logs missing:\n%s", out)
	}
	for _, secret := range []string{key, readOnly, wrong} {
		for _, part := range []string{secret, secret[len("onv_sk_test_"):], secret[len(secret)-16:], apikey.Hash(secret)} {
			if strings.Contains(out, part) {
				t.Fatalf("log contains key material %q", part)
			}
		}
	}
}
