package app

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/onvera/deployments/pkg/httpapi"
)

// TestLambdasLinkOnlyWhatTheyRun guards the cold-start design (README
// "Performance"): a package linked into a Lambda pays its init on every cold
// start, whether or not the function calls it. Each rule below was measured
// with `make bench`; a failure here means a dependency change needs the same
// measurement before it lands.
func TestLambdasLinkOnlyWhatTheyRun(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		fn, deps := path.Base(fields[0]), fields[1:]
		_, isRoute := httpapi.RouteNamed(fn)
		seen++
		for _, d := range deps {
			switch {
			case d == "github.com/aws/aws-sdk-go-v2/config":
				t.Errorf("%s links the SDK's full configuration loader (shared files, SSO, STS, IMDS); Lambda functions use pkg/awsenv", fn)
			case strings.HasPrefix(d, "github.com/aws/aws-sdk-go-v2/service/") && strings.HasSuffix(d, "/schemas"):
				t.Errorf("%s links %s: the SDK's schema-based serializers build every shape at init (~0.5 ms per client); see the pin in go.mod", fn, d)
			case isRoute && (strings.HasSuffix(d, "/service/cloudformation") || strings.HasSuffix(d, "/service/route53")):
				t.Errorf("route %s links %s, which only the provisioner's cloudformation driver uses", fn, d)
			}
		}
	}
	if seen != len(httpapi.Routes)+2 { // + provisioner and reconciler
		t.Fatalf("go list saw %d functions, want %d routes + provisioner + reconciler:\n%s", seen, len(httpapi.Routes), out)
	}
}
