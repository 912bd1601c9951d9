package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/dynamostore"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestKeysCommands drives key administration against the emulator's table.
func TestKeysCommands(t *testing.T) {
	awsCfg := testenv.AWSConfig(t)
	cfg := testenv.Config(t, awsCfg)
	t.Setenv(config.EnvTable, cfg.Table)

	code, out, errOut := cli(t, "keys", "create", "--org", "org_cli", "--scopes", "deployments:read,deployments:write")
	if code != exitOK {
		t.Fatalf("create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, apikey.PrefixTest) || !apikey.WellFormed(secret) {
		t.Fatalf("last line is not a key: %q", secret)
	}
	st := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table)
	k, err := st.GetKey(context.Background(), apikey.Hash(secret))
	if err != nil || k.OrgID != "org_cli" || !k.Has(apikey.ScopeWrite) {
		t.Fatalf("stored key %+v %v", k, err)
	}

	code, out, _ = cli(t, "keys", "list", "--org", "org_cli")
	if code != exitOK || !strings.Contains(out, k.ID) || strings.Contains(out, secret[12:]) || strings.Contains(out, k.Hash) {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, _, _ = cli(t, "keys", "revoke", k.ID); code != exitOK {
		t.Fatalf("revoke: %d", code)
	}
	auth := &apikey.Authenticator{Store: st, TTL: time.Minute}
	if _, ok, _ := auth.Authenticate(context.Background(), secret); ok {
		t.Fatal("revoked key still authenticates")
	}
	_, out, _ = cli(t, "keys", "list")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, k.ID) && strings.HasSuffix(strings.TrimSpace(line), "-") {
			t.Fatalf("revocation not listed: %s", line)
		}
	}
	if !strings.Contains(out, k.ID) {
		t.Fatalf("key missing from the unfiltered list: %s", out)
	}

	for _, args := range [][]string{
		{"keys", "create", "--org", "o"},
		{"keys", "create", "--scopes", "deployments:read"},
		{"keys", "create", "--org", "o", "--scopes", "deployments:admin"},
		{"keys", "revoke"},
		{"keys", "bogus"},
	} {
		if code, _, _ := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, errOut := cli(t, "keys", "revoke", "000000000000"); code != exitError || !strings.Contains(errOut, "no key") {
		t.Errorf("revoke unknown: %d %s", code, errOut)
	}
}
