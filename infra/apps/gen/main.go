// Command gen synthesizes the deployment stack of every app type (infra/apps)
// into pkg/provision/cfn/templates/<app>.json, the compact template bodies the
// cloudformation driver embeds. Run from the module root: `make templates`.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onvera/deployments/infra/apps"
	"github.com/onvera/deployments/infra/internal/lint"
)

func main() {
	out := flag.String("out", "pkg/provision/cfn/templates", "directory for <app>.json")
	flag.Parse()
	lint.QuietJSII()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

// run writes every app's template into out.
func run(out string) error {
	bodies, err := apps.SynthAll()
	if err != nil {
		return err
	}
	for _, a := range apps.Apps {
		body := bodies[string(a.Type)]
		if len(body) >= apps.MaxTemplateBytes {
			return fmt.Errorf("%s: template is %d bytes, over CloudFormation's TemplateBody limit of %d", a.Type, len(body), apps.MaxTemplateBytes)
		}
		f := filepath.Join(out, string(a.Type)+".json")
		if err := os.WriteFile(f, body, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes\n", f, len(body))
	}
	return nil
}
