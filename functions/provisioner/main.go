// Command provisioner consumes the provisioning queue and its dead-letter
// queue and moves deployments through their statuses, with the simulated or
// the cloudformation driver.
package main

import (
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/provision/cfn"
)

func main() { app.StartProvisioner(map[string]app.DriverFactory{"cloudformation": cfn.Factory}) }
