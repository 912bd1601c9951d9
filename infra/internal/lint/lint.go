// Package lint runs cfn-lint (installed into .venv by `make test`) on
// synthesized templates for the infra tests: no errors allowed. It also holds
// what the infra tests and infra/apps/gen share: QuietJSII and ModuleRoot.
package lint

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cfn-lint's parseable lines carry the rule id; errors are E####.
var errorRule = regexp.MustCompile(`:E[0-9]{4}:`)

// CfnLint fails t on any cfn-lint error in files; warnings are logged.
// cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
func CfnLint(t testing.TB, files ...string) {
	t.Helper()
	bin := filepath.Join(ModuleRoot(t), ".venv", "bin", "cfn-lint")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run `make cfn-lint-install` (part of `make test`)", err)
	}
	out, err := exec.Command(bin, append([]string{"--format", "parseable", "--"}, files...)...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode()&2 == 0:
		t.Logf("cfn-lint warnings/informational (not errors):\n%s", out)
	default:
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
	if errorRule.Match(out) {
		t.Errorf("cfn-lint reported errors:\n%s", out)
	}
}

// QuietJSII silences jsii's banner about Node 20 (the machine's node; the
// kernel works) unless the environment sets the variable already. Call it
// before the first jsii call starts the kernel.
func QuietJSII() {
	const silence = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
	if os.Getenv(silence) == "" {
		os.Setenv(silence, "20")
	}
}

// ModuleRoot is the repository root.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
