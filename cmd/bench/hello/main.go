// Command hello is the cold-start baseline of `make bench`: the smallest Go
// Lambda, built with the same flags as functions/*, so the difference in INIT
// duration and binary size is what our code adds.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "hello", nil })
}
