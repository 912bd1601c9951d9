// Command provisioner consumes the provisioning queue and its dead-letter
// queue and moves deployments through their statuses.
package main

import "github.com/onvera/deployments/pkg/app"

func main() { app.StartProvisioner() }
