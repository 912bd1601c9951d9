package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/onvera/deployments/infra/internal/lint"
)

// TestMain silences jsii's banner about Node 20 (the machine's node; the
// kernel works) before the first jsii call starts it.
func TestMain(m *testing.M) {
	lint.QuietJSII()
	os.Exit(m.Run())
}

var (
	assetsOnce sync.Once
	assetDir   string
)

// fakeAssets is a build/ look-alike: Code.fromAsset only needs the files to
// exist and hashes them; what they contain does not matter to the template.
func fakeAssets(t *testing.T) string {
	t.Helper()
	assetsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "infra-assets-")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range FunctionNames() {
			_ = os.MkdirAll(filepath.Join(dir, n), 0o755)
			_ = os.WriteFile(filepath.Join(dir, n, "bootstrap"), []byte("stand-in for "+n), 0o755)
		}
		assetDir = dir
	})
	return assetDir
}

// synthesized is one synthesized stack, parsed.
type synthesized struct {
	Stack    *Stack
	Template assertions.Template
	JSON     template
}

type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	UpdateReplace  string         `json:"UpdateReplacePolicy"`
	DependsOn      any            `json:"DependsOn"`
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// synth builds a stack from context, as `cdk synth -c key=value` would, with
// cdk-nag applied, and caches it per context (a synth is a few seconds).
func synth(t *testing.T, ctx map[string]any) *synthesized {
	t.Helper()
	key := fmt.Sprint(ctx)
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[key]; ok {
		return s
	}
	full := map[string]any{"assetDir": fakeAssets(t)}
	for k, v := range ctx {
		full[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &full})
	st, err := Build(app)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := assertions.Template_FromStack(st.Stack, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{Stack: st, Template: tmpl}
	if err := json.Unmarshal(raw, &s.JSON); err != nil {
		t.Fatal(err)
	}
	synthCache[key] = s
	return s
}

// ofType returns the logical ids and resources of one type.
func (tp template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range tp.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// functionID finds the logical id of functions/<name> by its description.
func (tp template) functionID(t *testing.T, name string) string {
	t.Helper()
	for id, r := range tp.ofType("AWS::Lambda::Function") {
		if r.Properties["Description"] == "functions/"+name {
			return id
		}
	}
	t.Fatalf("no function for %s", name)
	return ""
}

// check runs a jsii assertion (which panics on mismatch) as a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// ref returns the logical id an intrinsic ({"Ref": id} or {"Fn::GetAtt": [id, attr]}) points to.
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
