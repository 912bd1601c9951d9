// Command reconciler runs on a schedule and re-enqueues operations whose
// provisioning task was lost, so every accepted change reaches a terminal status.
package main

import "github.com/onvera/deployments/pkg/app"

func main() { app.StartReconciler() }
