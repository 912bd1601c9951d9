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
)

func main() {
	out := flag.String("out", "pkg/provision/cfn/templates", "directory for <app>.json")
	flag.Parse()
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	}
	tmp, err := os.MkdirTemp("", "onvera-apps-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for _, a := range apps.Apps {
		body, err := apps.Synth(a, filepath.Join(tmp, string(a.Type)))
		if err != nil {
			log.Fatalf("%s: %v", a.Type, err)
		}
		if len(body) >= apps.MaxTemplateBytes {
			log.Fatalf("%s: template is %d bytes, over CloudFormation's TemplateBody limit of %d", a.Type, len(body), apps.MaxTemplateBytes)
		}
		f := filepath.Join(*out, string(a.Type)+".json")
		if err := os.WriteFile(f, body, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d bytes\n", f, len(body))
	}
}
