// Command get-openapi is the Lambda behind one API route (see httpapi.Routes);
// all logic lives in pkg/.
package main

import "github.com/onvera/deployments/pkg/app"

func main() { app.StartRoute("get-openapi") }
