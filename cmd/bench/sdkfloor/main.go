// Command sdkfloor is the second cold-start reference of `make bench`: a route
// Lambda reduced to what a route needs to link (the DynamoDB and SQS clients,
// attributevalue, the API Gateway proxy), with its AWS configuration taken
// from the environment by pkg/awsenv, as the functions do. Its INIT against
// the hello-world baseline is the floor that trimming the real functions'
// imports could reach.
package main

import (
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/onvera/deployments/pkg/awsenv"
)

func main() {
	cfg, err := awsenv.Load()
	if err != nil {
		panic(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		item, _ := attributevalue.MarshalMap(map[string]string{"ok": "yes"})
		_, _, _ = db, q, item
		w.WriteHeader(http.StatusUnauthorized)
	})
	lambda.Start(httpadapter.NewV2(mux).ProxyWithContext)
}
