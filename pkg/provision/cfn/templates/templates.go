// Package templates embeds the CloudFormation templates of deployment stacks,
// one per app type. They are synthesized from CDK constructs in infra/apps by
// `make templates`; a test in infra/apps fails when they are out of date.
package templates

import (
	"embed"
	"fmt"

	"github.com/onvera/deployments/pkg/deployment"
)

//go:embed *.json
var files embed.FS

// For returns every app type's template body.
func For() (map[deployment.AppType]string, error) {
	out := map[deployment.AppType]string{}
	for _, app := range []deployment.AppType{deployment.Airflow, deployment.Superset} {
		b, err := files.ReadFile(string(app) + ".json")
		if err != nil {
			return nil, fmt.Errorf("no embedded template for %s: %w", app, err)
		}
		out[app] = string(b)
	}
	return out, nil
}
