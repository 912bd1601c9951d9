// Command gen writes pkg/openapi/openapi.json from openapi.yaml.
// Run from the repository root: go run ./pkg/openapi/gen
package main

import (
	"fmt"
	"os"

	"github.com/onvera/deployments/pkg/openapi/yamljson"
)

func main() {
	src, err := os.ReadFile("openapi.yaml")
	if err == nil {
		var out []byte
		if out, err = yamljson.ToJSON(src); err == nil {
			err = os.WriteFile("pkg/openapi/openapi.json", out, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
