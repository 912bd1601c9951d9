// Command infra is the CDK app: `cdk synth` / `cdk deploy` run it (see
// cdk.json). Everything that varies by customer comes from context (-c) or,
// for account and region, from the CLI environment.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/onvera/deployments/infra/stack"
)

func main() {
	defer jsii.Close() // stop the jsii kernel (node)
	app := awscdk.NewApp(nil)
	if _, err := stack.Build(app); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(2)
	}
	app.Synth(nil)
}
