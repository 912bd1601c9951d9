package stack

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/onvera/deployments/infra/internal/lint"
)

// checkovReport is the part of `checkov -o json` (one framework) the test reads.
type checkovReport struct {
	CheckType string `json:"check_type"`
	Results   struct {
		Passed  []checkovResult `json:"passed_checks"`
		Failed  []checkovResult `json:"failed_checks"`
		Skipped []checkovResult `json:"skipped_checks"`
	} `json:"results"`
	Summary struct {
		Passed        int `json:"passed"`
		Failed        int `json:"failed"`
		Skipped       int `json:"skipped"`
		ParsingErrors int `json:"parsing_errors"`
	} `json:"summary"`
}

type checkovResult struct {
	CheckID  string `json:"check_id"`
	Name     string `json:"check_name"`
	Resource string `json:"resource"`
	Result   struct {
		Result          string `json:"result"`
		SuppressComment string `json:"suppress_comment"`
	} `json:"check_result"`
}

// TestCheckov runs checkov (PyPI; `make test` installs the pinned version
// into .venv/checkov) on the synthesized dev and prod templates. Every
// failed check fails the test; the accepted ones are skipped in the template
// itself (Metadata.checkov.skip, added by checkovSkips in checkov.go), each
// with its reason, and every entry there must still be used by some check.
func TestCheckov(t *testing.T) {
	bin := filepath.Join(lint.ModuleRoot(t), ".venv", "checkov", "bin", "checkov")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run `make checkov-install` (part of `make test`)", err)
	}
	used := map[string]bool{}
	for name, f := range writeTemplates(t) {
		// --skip-download: no platform policies or guidelines, so the run is
		// offline and only the pinned version's built-in checks apply.
		cmd := exec.Command(bin, "--framework", "cloudformation", "--skip-download", "-o", "json", "-f", f)
		cmd.Env = append(os.Environ(), "BC_SKIP_MAPPING=TRUE", "CHECKOV_NO_VERSION_CHECK=1")
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: some check failed
			t.Fatalf("%s: checkov: %v\n%s%s", name, err, out, stderrOf(err))
		}
		var rep checkovReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("%s: checkov output is not one report (%v):\n%.2000s", name, err, out)
		}
		if rep.CheckType != "cloudformation" || rep.Summary.ParsingErrors > 0 || rep.Summary.Passed == 0 {
			t.Fatalf("%s: checkov did not scan the template: %+v", name, rep.Summary)
		}
		t.Logf("%s: checkov passed %d, failed %d, skipped %d", name, rep.Summary.Passed, rep.Summary.Failed, rep.Summary.Skipped)
		for _, r := range rep.Results.Failed {
			t.Errorf("%s: %s %s on %s: fix it, or skip it with a reason in checkov.go", name, r.CheckID, r.Name, r.Resource)
		}
		for _, r := range rep.Results.Skipped {
			if c := strings.TrimSpace(r.Result.SuppressComment); c == "" || c == "No comment provided" {
				t.Errorf("%s: %s skipped on %s without a reason", name, r.CheckID, r.Resource)
			}
			used[r.CheckID] = true
		}
	}
	var stale []string
	for _, s := range checkovSkips {
		if !used[s.ID] {
			stale = append(stale, s.ID+" on "+s.Type)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("checkov.go skips checks that no longer fail anywhere; remove them: %v", stale)
	}
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}

// writeTemplates synthesizes the dev and prod variants into a temporary
// directory for the external linters: stage name -> file.
func writeTemplates(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for name, ctx := range map[string]map[string]any{"dev": devCtx, "prod": prodCtx} {
		raw, err := json.MarshalIndent(synth(t, ctx).Template.ToJSON(), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(f, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	return files
}
