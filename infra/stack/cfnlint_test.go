package stack

import (
	"sort"
	"testing"

	"github.com/onvera/deployments/infra/internal/lint"
)

// TestCfnLint runs cfn-lint on the synthesized dev and prod templates.
func TestCfnLint(t *testing.T) {
	var files []string
	for _, f := range writeTemplates(t) {
		files = append(files, f)
	}
	sort.Strings(files)
	lint.CfnLint(t, files...)
}
