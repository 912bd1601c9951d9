// Package conformance proves the OpenAPI document true of the running API:
// real responses of a local gateway validated with kin-openapi, the onvera
// CLI binary driven end to end, and schemathesis fuzzing the served document.
package conformance

import (
	"testing"

	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// api is a local gateway of the test's own, with its app for minting keys.
type api struct {
	base string
	app  *app.App
}

func start(t *testing.T, mutate func(*config.Config)) api {
	t.Helper()
	a := testenv.App(t, mutate)
	return api{base: testenv.Gateway(t, a), app: a}
}

func (a api) key(t *testing.T, org string, scopes ...apikey.Scope) string {
	t.Helper()
	return testenv.Key(t, a.app.Store, org, scopes...)
}
