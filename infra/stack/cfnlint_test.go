package stack

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestCfnLint runs cfn-lint (PyPI; `make test` installs the pinned version
// into .venv) on the synthesized dev and prod templates: no errors allowed.
// cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
func TestCfnLint(t *testing.T) {
	bin := filepath.Join(moduleRoot(t), ".venv", "bin", "cfn-lint")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run `make cfn-lint-install` (part of `make test`)", err)
	}
	var files []string
	for _, f := range writeTemplates(t) {
		files = append(files, f)
	}
	sort.Strings(files)
	out, err := exec.Command(bin, append([]string{"--format", "parseable", "--"}, files...)...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode()&2 == 0:
		t.Logf("cfn-lint warnings/informational (not errors):\n%s", out)
	default:
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
	if strings.Contains(string(out), ":E") {
		t.Errorf("cfn-lint reported errors:\n%s", out)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
